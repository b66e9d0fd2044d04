"""TensorFlow Object Detection API graphs: detection_boxes/scores/classes (+ num_detections), found by name."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import openvino as ov

from .common import Decoder, Detection, InputSpec, detections, names

INPUT = InputSpec(color="RGB", mean=0.0, scale=1.0, letterbox=False, element_type="u8")
EXPECTS = "outputs named detection_boxes, detection_scores and detection_classes"
_REQUIRED = ("detection_boxes", "detection_scores", "detection_classes")


def _indices(model: ov.Model) -> dict[str, int]:
    """Output index by name; converted graphs give outputs several names and no fixed order."""
    return {name: index for index, port in enumerate(model.outputs) for name in names(port)}


def fits(model: ov.Model) -> bool:
    return all(name in _indices(model) for name in _REQUIRED)


def decoder(
    model: ov.Model, *, threshold: float, labels: Sequence[str], keep: Collection[str] | None = None
) -> Decoder:
    """Boxes come as (ymin, xmin, ymax, xmax); class ids are the model's own (1-based, 0 is background)."""
    index = _indices(model)
    boxes_at, scores_at, classes_at = (index[name] for name in _REQUIRED)
    count_at = index.get("num_detections")

    def decode(outputs: Sequence[np.ndarray]) -> list[Detection]:
        count = None if count_at is None else int(outputs[count_at].reshape(-1)[0])
        scores = outputs[scores_at].reshape(-1)[:count]
        passing = np.flatnonzero(scores >= threshold)
        boxes = outputs[boxes_at].reshape(-1, 4)[passing][:, [1, 0, 3, 2]]
        class_ids = outputs[classes_at].reshape(-1)[passing].astype(np.intp)
        return detections(boxes, scores[passing], class_ids, labels, keep)

    return decode
