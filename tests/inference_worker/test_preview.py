"""Previews: a smaller copy of the same picture, made from pixels the worker already decoded when it can."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import simplejpeg

from inference_worker.preview import PreviewGate, make_preview
from tests.support import jpeg_of, mean_difference, sample_image


def pixels(jpeg: bytes) -> np.ndarray:
    return simplejpeg.decode_jpeg(jpeg, "BGR")


@pytest.fixture
def astronaut() -> tuple[np.ndarray, bytes]:
    image = cv2.resize(sample_image("astronaut"), (640, 480), interpolation=cv2.INTER_AREA)
    return image, jpeg_of(image)


@pytest.mark.parametrize("decoded", ["none", "full", "half", "too small"])
def test_a_preview_is_the_same_picture_at_the_preview_width(astronaut, decoded):
    image, jpeg = astronaut
    picture = {
        "none": None,
        "full": pixels(jpeg),
        "half": simplejpeg.decode_jpeg(jpeg, "BGR", min_width=320, min_height=240),
        "too small": simplejpeg.decode_jpeg(jpeg, "BGR", min_width=160, min_height=120),
    }[decoded]
    preview = make_preview(jpeg, 640, 480, picture, 320)
    assert simplejpeg.decode_jpeg_header(preview)[:2] == (240, 320), "320 wide, aspect kept"
    expected = cv2.resize(image, (320, 240), interpolation=cv2.INTER_AREA)
    assert mean_difference(pixels(preview), expected) < 6, "the same picture, not just the same size"
    assert len(preview) < len(jpeg) / 2


def test_odd_sizes_keep_their_aspect(astronaut):
    image, _ = astronaut
    jpeg = jpeg_of(cv2.resize(image, (1001, 333)))
    preview = make_preview(jpeg, 1001, 333, None, 320)
    assert simplejpeg.decode_jpeg_header(preview)[:2] == (106, 320)


@pytest.mark.parametrize("width, max_width", [(320, 320), (200, 320), (640, 0)])
def test_no_preview_when_the_frame_is_no_wider_or_previews_are_off(astronaut, width, max_width):
    image, _ = astronaut
    small = cv2.resize(image, (width, width * 3 // 4))
    assert make_preview(jpeg_of(small), width, width * 3 // 4, small, max_width) is None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Watched:
    """Stands in for Redis: which streams are watched, and how often it was asked."""

    def __init__(self) -> None:
        self.streams: set[str] = set()
        self.asked: list[str] = []
        self.away = False

    def __call__(self, stream: str) -> bool | None:
        self.asked.append(stream)
        return None if self.away else stream in self.streams


def test_no_previews_while_unwatched_and_redis_is_asked_once_a_second_per_stream():
    clock, watched = Clock(), Watched()
    gate = PreviewGate(watched, max_fps=15, check_every=1.0, clock=clock)
    for _ in range(100):  # 10 s at 10 fps on two streams
        assert not gate.wanted("cam") and not gate.wanted("door")
        clock.now += 0.1
    assert watched.asked.count("cam") == watched.asked.count("door") == 10


def test_previews_start_within_a_check_of_the_key_and_stop_within_one_after_it_goes():
    clock, watched = Clock(), Watched()
    gate = PreviewGate(watched, max_fps=15, check_every=1.0, clock=clock)
    assert not gate.wanted("cam")
    watched.streams.add("cam")
    got = []
    for _ in range(24):  # 3 s at 8 fps: under the cap, so every frame once the key is seen
        got.append(gate.wanted("cam"))
        clock.now += 0.125
    assert got == [False] * 8 + [True] * 16, "seen at the next look, a second after the first"
    watched.away = True  # Redis away: the last answer holds
    assert gate.wanted("cam")
    watched.away = False
    watched.streams.clear()
    clock.now += 1.0
    assert not gate.wanted("cam")


def test_at_most_max_fps_previews_per_second_per_stream():
    clock, watched = Clock(), Watched()
    watched.streams = {"cam", "door"}
    gate = PreviewGate(watched, max_fps=15, check_every=1.0, clock=clock)
    made = {"cam": 0, "door": 0}
    for _ in range(1000):  # 10 s at 100 fps on each
        for stream in made:
            made[stream] += gate.wanted(stream)
        clock.now += 0.01
    assert all(149 <= n <= 151 for n in made.values()), f"15 per second on each, whatever the frame rate: {made}"
    clock.now += 60  # idle for a minute: no burst saved up
    assert [gate.wanted("cam") for _ in range(10)].count(True) <= 2
