"""The wire protocol between producers, workers and the control plane, in one place.

Everything that crosses a process boundary is msgpack or JSON, never pickle. Version 1:

* Frame queue, one Redis list per inference type: ``ei:frames:<queue>``. Producers ``RPUSH`` and
  keep the newest ``max_queue`` frames (the evicted ones are added to ``ei:overflow:<queue>``);
  workers ``BLPOP``.
* Frame: msgpack map ``{v: 1, stream, seq, ts, codec: "jpeg", w, h, data}``; ``ts`` is the capture
  time in seconds since the epoch, ``data`` the JPEG bytes.
* Result: Redis stream ``ei:results:<stream>`` (``XADD ... MAXLEN ~ N``) with fields ``meta``
  (JSON, see :func:`result_meta`), ``jpeg`` (the frame's bytes exactly as received) and, when the
  frame is wider than the worker's preview width, ``preview`` (a smaller JPEG of the same frame).
* Worker heartbeat: hash ``ei:workers:<worker id>`` with a TTL, indexed by the sorted set
  ``ei:workers`` (score = last update), so a control plane sees the fleet without Prometheus.
* Per-stream counters: hash ``ei:stream-stats:<stream>`` with ``produced`` (producers) and
  ``inferred``, ``expired``, ``rejected`` (workers). Frames evicted from a full queue are
  ``produced - inferred - expired - rejected - still queued``.
* Producer heartbeat: hash ``ei:producers:<stream>`` with a TTL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import msgpack

VERSION = 1
KEY_PREFIX = "ei"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_FRAME_SIDE = 8192
PREVIEW_WIDTH = 320  # a worker's default: about the width of a tile in a dashboard's grid
FRAME_FIELDS = ("v", "stream", "seq", "ts", "codec", "w", "h", "data")

WORKERS_INDEX = f"{KEY_PREFIX}:workers"
HEARTBEAT_FIELDS = (
    "worker", "queue", "model", "device", "pid", "host", "started_at", "updated_at",
    "infer_fps", "drop_fps", "scale_ratio", "latency_p50_ms", "latency_p99_ms",
    "inferred", "dropped", "rejected",
)


def valid_name(name: str) -> bool:
    """Stream and queue names become parts of Redis keys and URLs, so they are kept plain."""
    return isinstance(name, str) and bool(NAME_RE.match(name))


def frames_key(queue: str) -> str:
    return f"{KEY_PREFIX}:frames:{queue}"


def overflow_key(queue: str) -> str:
    return f"{KEY_PREFIX}:overflow:{queue}"


def results_key(stream: str) -> str:
    return f"{KEY_PREFIX}:results:{stream}"


def worker_key(worker_id: str) -> str:
    return f"{KEY_PREFIX}:workers:{worker_id}"


def stream_stats_key(stream: str) -> str:
    return f"{KEY_PREFIX}:stream-stats:{stream}"


def producer_key(stream: str) -> str:
    return f"{KEY_PREFIX}:producers:{stream}"


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
    fields = {"meta": json.dumps(meta, separators=(",", ":")).encode(), "jpeg": jpeg}
    if preview:
        fields["preview"] = preview
    return fields


def decode_result(fields: dict) -> tuple[dict, bytes]:
    """Inverse of :func:`encode_result` for a stream entry read with redis-py (bytes keys)."""
    return json.loads(fields[b"meta"]), fields[b"jpeg"]
