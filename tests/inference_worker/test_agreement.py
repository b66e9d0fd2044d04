"""Agreement between two models' detections: matching by label and IoU, the figures, the edge cases."""

import pytest

from inference_worker.agreement import agreement, iou, matches


def found(label, score, box):
    return {"label": label, "score": score, "box": box}


def test_iou_of_equal_disjoint_and_half_overlapping_boxes():
    assert iou([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    assert iou([0, 0, 0.4, 0.4], [0.5, 0.5, 1, 1]) == 0.0
    assert iou([0, 0, 1, 1], [0, 0, 1, 0.5]) == pytest.approx(0.5)


def test_a_match_needs_the_same_label_and_an_iou_of_one_half():
    person = found("person", 0.9, [0.1, 0.1, 0.3, 0.5])
    assert matches([person], [found("car", 0.9, person["box"])]) == []
    assert matches([person], [found("person", 0.8, [0.2, 0.1, 0.4, 0.5])]) == []  # IoU 1/3
    shifted = found("person", 0.8, [0.12, 0.1, 0.32, 0.5])
    assert matches([person], [shifted]) == [(person, shifted)]


def test_each_reference_detection_is_matched_once_best_candidate_first():
    truth = found("person", 0.9, [0.1, 0.1, 0.3, 0.5])
    weak, strong = found("person", 0.6, truth["box"]), found("person", 0.85, truth["box"])
    assert matches([truth], [weak, strong]) == [(truth, strong)]


def test_figures_over_frames():
    a, b = [0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.9, 0.9]
    reference = [[found("person", 0.9, a), found("car", 0.7, b)], [found("person", 0.8, b)]]
    candidate = [[found("person", 0.8, a)], [found("person", 0.9, b), found("person", 0.6, a)]]
    result = agreement(reference, candidate)
    assert (result.reference, result.candidate, result.matched) == (3, 3, 2)
    assert result.precision == pytest.approx(2 / 3, abs=1e-4)
    assert result.recall == pytest.approx(2 / 3, abs=1e-4)
    assert result.f1 == pytest.approx(2 / 3, abs=1e-4)
    assert result.mean_score_shift == pytest.approx(0.0, abs=1e-4)  # -0.1 and +0.1


def test_nothing_found_by_either_is_full_agreement_and_by_one_is_none():
    assert agreement([[], []], [[], []]).f1 == 1.0
    missed = agreement([[found("person", 0.9, [0, 0, 1, 1])]], [[]])
    assert (missed.precision, missed.recall, missed.f1, missed.mean_score_shift) == (0.0, 0.0, 0.0, None)


def test_frames_must_pair_up():
    with pytest.raises(ValueError, match="2 reference frames against 1"):
        agreement([[], []], [[]])
