"""TFLite SSD without its TFLite_Detection_PostProcess op: box encodings [1,N,4], class scores [1,N,C], anchors [N,4].

What the op did, done here (``model_store`` reads such a model with the op cut off): the TF Object Detection
API's box coder on (ycenter, xcenter, h, w) anchors, one class per box (the best), class-agnostic NMS.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import openvino as ov

from .common import Decoder, Detection, InputSpec, detections, dims, label_of, nms

INPUT = InputSpec(color="RGB", mean=0.0, scale=1.0, letterbox=False, element_type="u8")
EXPECTS = "three outputs [1,N,4] (box encodings), [1,N,C] (class scores, C > 1, C != 4) and [N,4] (anchors)"
SCALE_YX, SCALE_HW = 10.0, 5.0  # the box coder's scales: y and x 10, h and w 5
IOU_THRESHOLD = 0.6
MAX_DETECTIONS = 20  # the op's max_detections


def _roles(model: ov.Model) -> tuple[int, int, int] | None:
    """Output indices of (box encodings, class scores, anchors), told apart by shape; None if they do not fit.

    With C == 4 the encodings and the scores would look alike, and a dynamic C leaves no columns to choose
    from, so such models do not fit.
    """
    shapes = [dims(port) for port in model.outputs]
    if len(shapes) != 3:
        return None
    anchors = [i for i, shape in enumerate(shapes) if len(shape) == 2 and shape[1] == 4]
    encodings = [i for i, shape in enumerate(shapes) if len(shape) == 3 and shape[0] == 1 and shape[2] == 4]
    scores = [i for i, shape in enumerate(shapes) if len(shape) == 3 and shape[0] == 1 and 1 < shape[2] != 4]
    if len(anchors) != 1 or len(encodings) != 1 or len(scores) != 1:
        return None
    roles = (encodings[0], scores[0], anchors[0])
    if len({shapes[roles[0]][1], shapes[roles[1]][1], shapes[roles[2]][0]}) != 1:
        return None  # one row per anchor in all three
    return roles


def fits(model: ov.Model) -> bool:
    return _roles(model) is not None


def decoder(
    model: ov.Model, *, threshold: float, labels: Sequence[str], keep: Collection[str] | None = None
) -> Decoder:
    """Score of a box = its best kept class column (column 0, background, never counts).

    The label selection restricts the columns before the argmax and NMS, so a box of a label nobody asked
    for neither labels a box nor suppresses one that is kept.
    """
    encodings_at, scores_at, anchors_at = _roles(model)
    classes = dims(model.outputs[scores_at])[2]
    columns = np.array(
        [c for c in range(1, classes) if keep is None or label_of(c, labels) in keep], dtype=np.intp
    )

    def decode(outputs: Sequence[np.ndarray]) -> list[Detection]:
        if not columns.size:
            return []
        scores = outputs[scores_at][0][:, columns]
        best, score = scores.argmax(axis=1), scores.max(axis=1)
        candidates = np.flatnonzero(score >= threshold)
        ty, tx, th, tw = outputs[encodings_at][0][candidates].T
        yca, xca, ha, wa = outputs[anchors_at][candidates].T
        yc, xc = ty / SCALE_YX * ha + yca, tx / SCALE_YX * wa + xca
        half_h, half_w = np.exp(th / SCALE_HW) * ha / 2, np.exp(tw / SCALE_HW) * wa / 2
        boxes = np.stack([xc - half_w, yc - half_h, xc + half_w, yc + half_h], axis=1)
        kept = nms(boxes, score[candidates], IOU_THRESHOLD, MAX_DETECTIONS)
        return detections(boxes[kept], score[candidates][kept], columns[best[candidates][kept]], labels)

    return decode
