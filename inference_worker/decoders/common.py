"""What every output family shares: reading output shapes and names, NMS, and the detection dicts."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import openvino as ov

Detection = dict[str, Any]
Decoder = Callable[[Sequence[np.ndarray]], list[Detection]]


@dataclass(frozen=True)
class InputSpec:
    """How the engine must prepare an image for a family, so the decoder's boxes mean what it assumes."""

    color: str  # "BGR" or "RGB"
    mean: float  # subtract, then
    scale: float  # divide
    letterbox: bool  # pad bottom/right to the model's aspect before resizing, instead of stretching
    element_type: str  # "f32" or "u8", after preprocessing


def dims(port: ov.Output) -> tuple[int, ...]:
    """A port's dimensions with -1 where dynamic, so checks also work on models with a dynamic batch."""
    shape = port.get_partial_shape()
    if shape.rank.is_dynamic:
        return ()
    return tuple(dim.get_length() if dim.is_static else -1 for dim in shape)


def names(port: ov.Output) -> set[str]:
    """A port's tensor names without TensorFlow's ':0' suffix."""
    return {name.removesuffix(":0") for name in port.get_names()}


def describe(model: ov.Model) -> str:
    """The outputs as "name shape, ...", for error messages a user can act on."""
    return ", ".join(
        f"{min(port.get_names(), key=len) if port.get_names() else '<unnamed>'} {port.get_partial_shape()}"
        for port in model.outputs
    )


def input_layout(model: ov.Model) -> str:
    """"NCHW" if axis 1 of the 4-D image input holds 1 or 3 channels, else "NHWC"."""
    shape = dims(model.inputs[0])
    if len(shape) != 4:
        raise ValueError(f"expected a 4-D image input, got {model.inputs[0].get_partial_shape()}")
    return "NCHW" if shape[1] in (1, 3) else "NHWC"


def input_size(model: ov.Model) -> tuple[int, int]:
    """(height, width) of the image input.

    Read it from the model before PrePostProcessor runs: preprocessing may make the spatial size dynamic.
    """
    shape = dims(model.inputs[0])
    height, width = shape[2:4] if input_layout(model) == "NCHW" else shape[1:3]
    if height <= 0 or width <= 0:
        raise ValueError(
            f"image input {model.inputs[0].get_partial_shape()} has a dynamic size; reshape the model first"
        )
    return height, width


MAX_DETECTIONS = 300  # as Ultralytics' max_det: bounds NMS time when a low threshold lets thousands through


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, limit: int = MAX_DETECTIONS) -> np.ndarray:
    """Indices that greedy NMS keeps, best first, at most ``limit``; one loop per kept box, not per candidate."""
    x0, y0, x1, y1 = boxes.T
    areas = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size and len(keep) < limit:
        best, rest = order[0], order[1:]
        keep.append(best)
        inter_w = np.clip(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0, None)
        inter_h = np.clip(np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0, None)
        inter = inter_w * inter_h
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-12)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.intp)


def label_of(class_id: int, labels: Sequence[str]) -> str:
    """A class id's name; the id itself when the table is shorter, so every detection has a label."""
    return labels[class_id] if 0 <= class_id < len(labels) else str(class_id)


def detections(
    boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, labels: Sequence[str],
    keep: Collection[str] | None = None,
) -> list[Detection]:
    """The one result shape of every family: clipped [x0, y0, x1, y1] in 0..1, best score first, and only the
    labels in ``keep`` (None: all); the label selection wherever dropping boxes after NMS changes no other box
    (NMS in the model or per class)."""
    order = np.argsort(-scores, kind="stable")
    clipped = np.clip(boxes[order].astype(np.float64), 0.0, 1.0).round(4).tolist()
    named = (label_of(class_id, labels) for class_id in class_ids[order].tolist())
    return [
        {"label": label, "score": round(float(score), 4), "box": box}
        for label, score, box in zip(named, scores[order].tolist(), clipped)
        if keep is None or label in keep
    ]
