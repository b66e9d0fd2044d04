"""The engine on a real OpenVINO with the built-in face model: results in submission order on one thread that
``close()`` ends, and the JPEG scale it decodes at."""

from __future__ import annotations

import threading

import openvino as ov
import pytest

from inference_worker.engine import Engine, decode_factor
from inference_worker.model_store import load_model
from tests.support import jpeg_of, sample_image

FRAMES = 24


@pytest.fixture(scope="module")
def loaded():
    return load_model(ov.Core(), "builtin:face")


def results_threads() -> int:
    return sum(thread.name == "results" for thread in threading.enumerate())


def run(loaded, on_result) -> None:
    """FRAMES astronaut pictures through an engine with several requests in flight, then closed."""
    jpeg = jpeg_of(sample_image("astronaut"))
    with Engine(loaded, core=ov.Core(), requests=4, on_result=on_result) as engine:
        prepared = engine.prepare(jpeg, 512, 512)
        for index in range(FRAMES):
            engine.submit(prepared, index)


def test_results_arrive_in_submission_order_and_closing_ends_the_results_thread(loaded):
    before = results_threads()
    arrived: list[tuple[int, int]] = []
    run(loaded, lambda index, found, _seconds: arrived.append((index, len(found))))
    assert [index for index, _ in arrived] == list(range(FRAMES))
    assert all(faces >= 1 for _, faces in arrived), arrived  # the astronaut's face, every time
    assert results_threads() == before


def test_a_result_handler_that_raises_loses_no_later_result(loaded):
    arrived: list[int] = []

    def on_result(index, _found, _seconds):
        if index == 3:
            raise RuntimeError("a publisher bug")
        arrived.append(index)

    run(loaded, on_result)
    assert arrived == [index for index in range(FRAMES) if index != 3]


@pytest.mark.parametrize(("frame", "model", "letterbox", "max_upscale", "factor"), [
    ((640, 480), (300, 300), False, 1.0, 1),  # 320x240 would be scaled up
    ((1920, 1080), (300, 300), False, 1.0, 2),  # 960x540; 480x270 is too short
    ((1920, 1080), (300, 300), False, 1.25, 4),  # 480x270, scaled up 1.11x
    ((1280, 720), (640, 640), True, 1.0, 2),  # fitted, the input takes 640x360 of it
    ((4096, 4096), (128, 128), False, 1.0, 8),  # libjpeg decodes at 1/8 at the smallest
    ((100, 80), (300, 300), False, 1.0, 1),  # smaller than the input: decoded whole
])
def test_the_decode_scale_is_the_smallest_that_keeps_the_input_pixels(frame, model, letterbox, max_upscale, factor):
    assert decode_factor(*frame, *model, letterbox=letterbox, max_upscale=max_upscale) == factor
