"""Small real OpenVINO models whose outputs depend on the input, saved as IR and read back like a user's model.

Both detectors scale their confidences by the input's mean brightness, so a white image yields the
known detections below and a black one yields none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset8 as opset8
import openvino.opset13 as ops

SSD_SIZE = 64
# Priors as (x0, y0, x1, y1) in 0..1 and the 'face' confidence of each per unit of brightness. Prior 2
# overlaps prior 0 (IoU 0.875), so the NMS inside DetectionOutput drops it; prior 1 stays low.
SSD_PRIORS = np.array([[0.25, 0.125, 0.625, 0.5], [0.5, 0.5, 0.875, 0.9375], [0.25, 0.15, 0.625, 0.525]])
SSD_FACE_CONFIDENCE = np.array([1.0, 0.3, 0.8])

YOLO_HEIGHT, YOLO_WIDTH, YOLO_ANCHORS = 48, 64, 32
# (cx, cy, w, h) in input pixels, class, score at full brightness; every other anchor scores 0.
YOLO_BOXES = [
    ((16, 12, 16, 8), 0, 0.9),
    ((17, 12, 16, 8), 0, 0.8),  # duplicate of the first (IoU 0.88): suppressed
    ((16, 12, 16, 8), 1, 0.7),  # same place, other class: kept
    ((40, 30, 8, 12), 1, 0.6),
    ((60, 40, 16, 24), 0, 0.55),  # runs off the bottom-right corner: clipped
    ((32, 24, 8, 8), 0, 0.3),
]


def _save_and_read(model: ov.Model, directory: Path) -> ov.Model:
    """Round-trip through IR (uncompressed, so constants stay exact), as a model from disk would arrive."""
    path = directory / f"{model.get_friendly_name()}.xml"
    ov.save_model(model, path, compress_to_fp16=False)
    return ov.Core().read_model(path)


def _brightness(image: ov.Node) -> ov.Node:
    """Mean over the image as [1, 1]: a constant-weight 1x1 conv to grey, then a spatial mean."""
    grey = ops.convolution(
        image, ops.constant(np.full((1, 3, 1, 1), 1 / 3, np.float32)), [1, 1], [0, 0], [0, 0], [1, 1]
    )
    return ops.reduce_mean(grey, ops.constant(np.array([2, 3])), keep_dims=False)


def ssd_model(directory: Path) -> ov.Model:
    """Image [1,3,64,64] -> a real DetectionOutput [1,1,10,7] over three priors, classes (background, face)."""
    image = ops.parameter([1, 3, SSD_SIZE, SSD_SIZE], np.float32, name="image")
    face = SSD_FACE_CONFIDENCE.astype(np.float32)
    # Per prior (background, face) = (1 - c*m, c*m) for brightness m, flattened to [1, priors*classes].
    slope = ops.constant(np.stack([-face, face], axis=1).reshape(1, -1))
    offset = ops.constant(np.stack([np.ones_like(face), np.zeros_like(face)], axis=1).reshape(1, -1))
    confidences = ops.add(ops.multiply(_brightness(image), slope), offset)
    box_logits = ops.constant(np.zeros((1, SSD_PRIORS.size), np.float32))  # boxes come out as the priors
    proposals = ops.constant(
        np.stack([SSD_PRIORS.ravel(), np.tile([0.1, 0.1, 0.2, 0.2], len(SSD_PRIORS))])[None].astype(np.float32)
    )
    detection = opset8.detection_output(
        box_logits,
        confidences,
        proposals,
        {
            "keep_top_k": [10],
            "top_k": 10,
            "nms_threshold": 0.45,
            "confidence_threshold": 0.01,
            "background_label_id": 0,
            "share_location": True,
            "normalized": True,
            "code_type": "caffe.PriorBoxParameter.CORNER",
        },
    )
    detection.output(0).get_tensor().set_names({"detection_out"})
    return _save_and_read(ov.Model([detection], [image], "synthetic_ssd"), directory)


def yolo_model(directory: Path) -> ov.Model:
    """Image [1,3,48,64] -> [1, 4+2, 32]: fixed boxes, class scores scaled by brightness."""
    image = ops.parameter([1, 3, YOLO_HEIGHT, YOLO_WIDTH], np.float32, name="images")
    boxes = np.zeros((1, 4, YOLO_ANCHORS), np.float32)
    scores = np.zeros((1, 2, YOLO_ANCHORS), np.float32)
    for anchor, (box, class_id, score) in enumerate(YOLO_BOXES):
        boxes[0, :, anchor] = box
        scores[0, class_id, anchor] = score
    scaled = ops.multiply(ops.unsqueeze(_brightness(image), ops.constant(np.array([2]))), ops.constant(scores))
    output = ops.concat([ops.constant(boxes), scaled], axis=1)
    output.output(0).get_tensor().set_names({"output0"})
    return _save_and_read(ov.Model([output], [image], "synthetic_yolo"), directory)


def classifier_model(directory: Path) -> ov.Model:
    """Image [1,3,8,8] -> logits [1,3]: a model that fits no detection family."""
    image = ops.parameter([1, 3, 8, 8], np.float32, name="image")
    logits = ops.reduce_mean(image, ops.constant(np.array([2, 3])), keep_dims=False)
    logits.output(0).get_tensor().set_names({"logits"})
    return _save_and_read(ov.Model([logits], [image], "classifier"), directory)
