"""How far one model's detections agree with another's on the same frames, the reference taken as truth.

Detections match when they have the same label and an IoU of at least 0.5, greedily, best candidate
score first, each reference detection used once (as in PASCAL VOC's evaluation). Precision is the share
of the candidate's detections that match, recall the share of the reference's that are matched, and the
score shift is how much the candidate's score differs on matched pairs (negative: less confident).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

IOU_MATCH = 0.5


@dataclass(frozen=True)
class Agreement:
    precision: float
    recall: float
    f1: float
    mean_score_shift: float | None  # None when nothing matched
    reference: int  # detections of the reference, all frames
    candidate: int
    matched: int


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x0, y0, x1, y1] boxes."""
    inter_w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def matches(reference: Sequence[dict], candidate: Sequence[dict]) -> list[tuple[dict, dict]]:
    """(reference, candidate) pairs of one frame."""
    unused = list(reference)
    pairs = []
    for found in sorted(candidate, key=lambda detection: -detection["score"]):
        scored = [(iou(found["box"], truth["box"]), i) for i, truth in enumerate(unused) if truth["label"] == found["label"]]
        best, at = max(scored, default=(0.0, -1))
        if best >= IOU_MATCH:
            pairs.append((unused.pop(at), found))
    return pairs


def agreement(reference: Sequence[Sequence[dict]], candidate: Sequence[Sequence[dict]]) -> Agreement:
    """Over frames given in the same order to both models. Two models that both find nothing agree fully;
    one that finds nothing where the other finds something scores 0."""
    if len(reference) != len(candidate):
        raise ValueError(f"{len(reference)} reference frames against {len(candidate)} candidate frames")
    pairs = [pair for truth, found in zip(reference, candidate) for pair in matches(truth, found)]
    total_reference = sum(map(len, reference))
    total_candidate = sum(map(len, candidate))
    precision = len(pairs) / total_candidate if total_candidate else float(total_reference == 0)
    recall = len(pairs) / total_reference if total_reference else float(total_candidate == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    shift = sum(found["score"] - truth["score"] for truth, found in pairs) / len(pairs) if pairs else None
    return Agreement(
        precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4),
        mean_score_shift=None if shift is None else round(shift, 4),
        reference=total_reference, candidate=total_candidate, matched=len(pairs),
    )
