"""Open Model Zoo SSD: one DetectionOutput tensor [1,1,N,7] of (image_id, label, conf, x0, y0, x1, y1)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import openvino as ov

from .common import Decoder, Detection, InputSpec, detections, dims

INPUT = InputSpec(color="BGR", mean=0.0, scale=1.0, letterbox=False, element_type="f32")
EXPECTS = "one output [1,1,N,7]"


def fits(model: ov.Model) -> bool:
    if len(model.outputs) != 1:
        return False
    shape = dims(model.outputs[0])
    return len(shape) == 4 and shape[3] == 7


def decoder(
    model: ov.Model, *, threshold: float, labels: Sequence[str], keep: Collection[str] | None = None
) -> Decoder:
    """DetectionOutput has already run NMS; only the list's end marker and the threshold remain."""

    def decode(outputs: Sequence[np.ndarray]) -> list[Detection]:
        rows = outputs[0].reshape(-1, 7)
        ends = np.flatnonzero(rows[:, 0] < 0)
        if ends.size:
            rows = rows[: ends[0]]
        rows = rows[rows[:, 2] >= threshold]
        return detections(rows[:, 3:7], rows[:, 2], rows[:, 1].astype(np.intp), labels, keep)

    return decode
