"""A result entry of ``ei:results:<stream>`` as the analytics stage reads it; anything else is malformed."""

from __future__ import annotations

import json
import math

from controlplane.analytics.tracking import Detection, Observed
from inference_worker import protocol


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} is not a number: {value!r}")
    return float(value)


LABEL_LENGTH = 64  # Event.label's


def _detection(raw) -> Detection:
    if not isinstance(raw, dict) or not isinstance(raw.get("label"), str) or not 0 < len(raw["label"]) <= LABEL_LENGTH:
        raise ValueError(f"a detection without a label of 1 to {LABEL_LENGTH} characters: {str(raw)[:200]}")
    box = raw.get("box")
    if not isinstance(box, list) or len(box) != 4:
        raise ValueError(f"a detection's box is not [x0, y0, x1, y1]: {box!r}")
    return Detection(raw["label"], _number(raw.get("score"), "score"), tuple(_number(v, "box") for v in box))


def parse(entry_id: bytes, fields: dict[bytes, bytes]) -> tuple[str, str, Observed]:
    """``(queue, worker, result)`` of one entry; ``ValueError`` saying what is wrong with a malformed one."""
    try:
        meta = json.loads(fields[b"meta"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"no JSON meta ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError("meta is not an object")
    queue, worker, seq = meta.get("queue"), meta.get("worker"), meta.get("seq")
    if not isinstance(queue, str) or not protocol.valid_name(queue):
        raise ValueError(f"bad queue {queue!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValueError(f"bad seq {seq!r}")
    detections = meta.get("detections")
    if not isinstance(detections, list):
        raise ValueError("no detections list")
    observed = Observed(entry_id=entry_id.decode(), seq=seq, ts=_number(meta.get("ts_capture"), "ts_capture"),
                        detections=tuple(_detection(d) for d in detections), jpeg=fields.get(b"jpeg", b""))
    return queue, str(worker or ""), observed
