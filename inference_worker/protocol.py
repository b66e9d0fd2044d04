"""The wire protocol between producers, workers and the control plane, in one place.

Everything that crosses a process boundary is msgpack or JSON, never pickle. Version 1:

* Frame queue, one Redis list per inference type: ``ei:frames:<queue>``. Producers ``RPUSH`` and
  keep the newest ``max_queue`` frames (the evicted ones are added to ``ei:overflow:<queue>``);
  workers ``BLPOP``.
* Frame: msgpack map ``{v: 1, stream, seq, ts, codec: "jpeg", w, h, data}``; ``ts`` is the capture
  time in seconds since the epoch, ``data`` the JPEG bytes.
* Result: Redis stream ``ei:results:<stream>`` (``XADD ... MAXLEN ~ N``) with fields ``meta``
  (JSON, see :func:`result_meta`), ``jpeg`` (the frame's bytes exactly as received) and, when the
  frame is wider than the worker's preview width, ``preview``: a smaller JPEG of the same frame, or
  empty when the worker made none (nobody watched the stream's previews, or it had its
  ``PREVIEW_MAX_FPS`` that second). A preview client is sent the frame when a result has no
  ``preview`` field (the frame is its own preview, or previews are off) and nothing when it is empty.
* Watched previews: string ``ei:watched:<stream>`` with a TTL of ``WATCHED_TTL`` seconds, set by each
  web process while at least one of its websocket clients watches the stream's previews
  (``?picture=preview``) and rewritten every second or two; absent otherwise. Workers make previews
  only for streams whose key exists, checked about once a second per stream.
* Tracks: Redis stream ``ei:tracks:<stream>`` (``XADD ... MAXLEN ~ 100``), written by the analytics
  stage a few ms to ~0.5 s after the result it tracked, one field ``meta``, JSON
  ``{v: 1, kind: "tracks", stream, queue, seq, tracks}``: ``tracks[i]`` is the track number of
  ``detections[i]`` of the result with that stream, queue and seq, or null for a detection the tracker
  did not take (e.g. too low a score).
* Worker heartbeat: hash ``ei:workers:<worker id>`` with the fields of :class:`Heartbeat` and a TTL of
  ``HEARTBEAT_TTL`` seconds, indexed by the sorted set ``ei:workers`` (score = last update), so a
  control plane sees the fleet without Prometheus.
* Per-stream counters: hash ``ei:stream-stats:<stream>`` with ``produced`` (producers) and
  ``inferred``, ``expired``, ``rejected`` (workers). Frames evicted from a full queue are
  ``produced - inferred - expired - rejected - still queued``.
* Producer heartbeat: hash ``ei:producers:<stream>`` with a TTL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import get_type_hints

import msgpack

VERSION = 1
KEY_PREFIX = "ei"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_FRAME_SIDE = 8192
PREVIEW_WIDTH = 320  # a worker's default: about the width of a tile in a dashboard's grid
# Previews per second per stream, at most, from one worker: a grid tile is a thumbnail among many and
# moves smoothly enough at 15 fps, so a 30 fps camera costs half the resizes and encodes; the large
# view draws every full frame regardless.
PREVIEW_MAX_FPS = 15
WATCHED_TTL = 5  # seconds; a web process rewrites the key of a watched stream every 1.5 s
FRAME_FIELDS = ("v", "stream", "seq", "ts", "codec", "w", "h", "data")

WORKERS_INDEX = f"{KEY_PREFIX}:workers"
HEARTBEAT_TTL = 10  # seconds; a worker rewrites its heartbeat every second

# The decoders' output families (``inference_worker.decoders`` has one module of each name) and their
# labels, here so that the control plane can offer them without importing OpenVINO.
OUTPUT_FAMILIES = {
    "ssd": "SSD DetectionOutput [1,1,N,7]",
    "tf_od": "TensorFlow Object Detection API",
    "blazeface": "BlazeFace anchors",
    "yolo": "YOLO v8/v11 [1,4+C,N]",
    "ssd_anchors": "SSD box encodings + anchors (TFLite)",
}


def valid_name(name: str) -> bool:
    """Stream and queue names become parts of Redis keys and URLs, so they are kept plain."""
    return isinstance(name, str) and bool(NAME_RE.match(name))


def frames_key(queue: str) -> str:
    return f"{KEY_PREFIX}:frames:{queue}"


def overflow_key(queue: str) -> str:
    return f"{KEY_PREFIX}:overflow:{queue}"


def entry_order(entry_id: str) -> tuple[int, int]:
    """Redis stream IDs (``<ms>-<seq>``) as something that sorts like them."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def results_key(stream: str) -> str:
    return f"{KEY_PREFIX}:results:{stream}"


def tracks_key(stream: str) -> str:
    """The track numbers of ``stream``'s results (see the module's docstring)."""
    return f"{KEY_PREFIX}:tracks:{stream}"


def worker_key(worker_id: str) -> str:
    return f"{KEY_PREFIX}:workers:{worker_id}"


def stream_stats_key(stream: str) -> str:
    return f"{KEY_PREFIX}:stream-stats:{stream}"


def producer_key(stream: str) -> str:
    return f"{KEY_PREFIX}:producers:{stream}"


def watched_key(stream: str) -> str:
    """Exists while someone watches ``stream``'s previews (see the module's docstring)."""
    return f"{KEY_PREFIX}:watched:{stream}"


class FrameError(ValueError):
    """A frame that cannot be used. ``kind`` names the problem so it can be counted and logged once."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Frame:
    stream: str
    seq: int
    ts: float
    width: int
    height: int
    data: bytes
    codec: str = "jpeg"


def encode_frame(frame: Frame) -> bytes:
    return msgpack.packb(
        {
            "v": VERSION, "stream": frame.stream, "seq": frame.seq, "ts": frame.ts,
            "codec": frame.codec, "w": frame.width, "h": frame.height, "data": frame.data,
        },
        use_bin_type=True,
    )


def decode_frame(raw: bytes) -> Frame:
    """Parse and check a frame message; raise :class:`FrameError` on anything unusable."""
    if len(raw) > MAX_FRAME_BYTES + 1024:
        raise FrameError("too-large", f"{len(raw)} bytes")
    try:
        msg = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise FrameError("not-msgpack", str(exc) or type(exc).__name__) from None
    if not isinstance(msg, dict):
        raise FrameError("not-a-map", type(msg).__name__)
    if msg.get("v") != VERSION:
        raise FrameError("bad-version", f"v={msg.get('v')!r}, expected {VERSION}")
    missing = [f for f in FRAME_FIELDS if f not in msg]
    if missing:
        raise FrameError("missing-fields", ",".join(missing))
    stream, seq, ts, codec = msg["stream"], msg["seq"], msg["ts"], msg["codec"]
    width, height, data = msg["w"], msg["h"], msg["data"]
    if not valid_name(stream):
        raise FrameError("bad-stream", repr(stream)[:80])
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise FrameError("bad-seq", repr(seq)[:40])
    if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts <= 0:
        raise FrameError("bad-ts", repr(ts)[:40])
    if codec != "jpeg":
        raise FrameError("bad-codec", repr(codec)[:40])
    for side in (width, height):
        if not isinstance(side, int) or isinstance(side, bool) or not 0 < side <= MAX_FRAME_SIDE:
            raise FrameError("bad-size", f"{width!r}x{height!r}")
    if not isinstance(data, bytes) or not data:
        raise FrameError("bad-data", type(data).__name__)
    return Frame(stream=stream, seq=seq, ts=float(ts), width=width, height=height, data=data)


def result_meta(
    *, frame: Frame, queue: str, model: str, worker: str, ts_done: float, detections: list[dict]
) -> dict:
    """The JSON half of a result. ``detections``: ``{label, score, box: [x0, y0, x1, y1]}``, box in 0..1."""
    return {
        "v": VERSION, "stream": frame.stream, "seq": frame.seq, "queue": queue, "model": model,
        "worker": worker, "ts_capture": frame.ts, "ts_done": ts_done,
        "width": frame.width, "height": frame.height, "detections": detections,
    }


def encode_result(meta: dict, jpeg: bytes, preview: bytes | None = None) -> dict[str, bytes]:
    """``preview``: None for no field (the frame is its own preview), ``b""`` for one the worker skipped."""
    fields = {"meta": json.dumps(meta, separators=(",", ":")).encode(), "jpeg": jpeg}
    if preview is not None:
        fields["preview"] = preview
    return fields


def decode_result(fields: dict) -> tuple[dict, bytes]:
    """Inverse of :func:`encode_result` for a stream entry read with redis-py (bytes keys)."""
    return json.loads(fields[b"meta"]), fields[b"jpeg"]


def _figure(doc: str, *, epoch: bool = False):
    """A heartbeat field with what it means (the control plane's API documents it); ``epoch``: a time in
    seconds since the epoch."""
    return field(metadata={"doc": doc, "epoch": epoch})


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What a worker says about itself every second: the one definition of the heartbeat hash's fields.

    Rates and percentiles are over the worker's sliding window; counts are since it started.
    """

    worker: str = _figure("Worker id, as in its results.")
    queue: str = _figure("The frame queue it serves.")
    model: str = _figure("The model it runs.")
    device: str = _figure("The OpenVINO device it runs on.")
    pid: int = _figure("Its process id on its host.")
    host: str = _figure("The host it runs on.")
    namespace: str = _figure("The Kubernetes namespace of its pod (the downward API's); empty off a cluster.")
    started_at: float = _figure("When it started.", epoch=True)
    updated_at: float = _figure("Time of its last heartbeat.", epoch=True)
    window_seconds: float = _figure("The sliding window its rates and percentiles are taken over, seconds.")
    infer_fps: float = _figure("Frames inferred per second over the worker's sliding window.")
    drop_fps: float = _figure("Frames expired in or evicted from the queue, per second.")
    scale_ratio: float = _figure("Workers like this one the load needs, per worker.")
    latency_p50_ms: float = _figure("Capture to published result, median over the window.")
    latency_p99_ms: float = _figure("Capture to published result, 99th percentile over the window.")
    inferred: int = _figure("Frames inferred since the worker started.")
    dropped: int = _figure("Frames expired or evicted since the worker started.")
    rejected: int = _figure("Unusable frames since the worker started.")

    def to_hash(self) -> dict[str, str | int | float]:
        """The mapping for ``HSET`` (redis-py writes numbers as their ``repr``)."""
        return asdict(self)

    @classmethod
    def from_hash(cls, raw: Mapping[bytes, bytes]) -> Heartbeat:
        """Parse an ``HGETALL`` reply; ValueError when a field is missing or not of its type."""
        try:
            return cls(**{name: kind(raw[name.encode()].decode()) for name, kind in HEARTBEAT_TYPES.items()})
        except KeyError as exc:
            raise ValueError(f"heartbeat without {exc.args[0].decode()!r}") from None


HEARTBEAT_TYPES: dict[str, type] = get_type_hints(Heartbeat)  # field name -> type, in declaration order
