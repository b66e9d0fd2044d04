"""Ultralytics YOLOv8/v11 head: one output [1, 4+C, N] of (cx, cy, w, h) in input pixels, then C class scores."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import openvino as ov

from .common import Decoder, Detection, InputSpec, detections, dims, input_size, nms

INPUT = InputSpec(color="RGB", mean=0.0, scale=255.0, letterbox=True, element_type="f32")
IOU_THRESHOLD = 0.45
EXPECTS = "one output [1,4+C,N] with N much larger than 4+C"


def fits(model: ov.Model) -> bool:
    """N may be dynamic (exports with dynamic axes); a static N must dwarf 4+C, to tell [1,84,8400] from [1,300,6]."""
    if len(model.outputs) != 1:
        return False
    shape = dims(model.outputs[0])
    return len(shape) == 3 and shape[1] >= 5 and (shape[2] == -1 or shape[2] > 2 * shape[1])


def decoder(
    model: ov.Model, *, threshold: float, labels: Sequence[str], keep: Collection[str] | None = None
) -> Decoder:
    """One class per box (the best), then NMS within each class, as Ultralytics does by default."""
    height, width = input_size(model)
    scale = np.array([width, height, width, height], dtype=np.float32)

    def decode(outputs: Sequence[np.ndarray]) -> list[Detection]:
        prediction = outputs[0][0]
        class_ids = prediction[4:].argmax(axis=0)
        scores = prediction[4:].max(axis=0)
        candidates = np.flatnonzero(scores >= threshold)
        cx, cy, w, h = prediction[:4, candidates] / scale[:, None]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        scores, class_ids = scores[candidates], class_ids[candidates]
        # Shifting each class into its own region of the plane makes one NMS call act per class.
        shifted = boxes + class_ids[:, None] * (np.abs(boxes).max(initial=0.0) + 1.0)
        kept = nms(shifted, scores, IOU_THRESHOLD)
        return detections(boxes[kept], scores[kept], class_ids[kept], labels, keep)

    return decode
