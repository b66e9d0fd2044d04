"""Previews: a smaller copy of the same picture, made from pixels the worker already decoded when it can."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import simplejpeg

from inference_worker.preview import make_preview
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
