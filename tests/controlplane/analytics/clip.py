"""A generated clip whose objects move along known paths: two faces (the astronaut's, and her mirror
image) crossing a plain background in opposite directions, at known frames and positions."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tests.support import jpeg_of, sample_image

WIDTH, HEIGHT, SIDE = 640, 480, 200
FPS = 10.0


@dataclass(frozen=True)
class Walker:
    first: int  # frame it enters
    last: int  # frame it leaves after
    row: int  # its top, pixels
    mirrored: bool  # moves right to left, mirrored

    def left(self, frame: int) -> int:
        span = WIDTH - SIDE
        step = (frame - self.first) / (self.last - self.first)
        return round(span * (1 - step if self.mirrored else step))

    def box(self, frame: int) -> tuple[float, float, float, float]:
        x = self.left(frame)
        return x / WIDTH, self.row / HEIGHT, (x + SIDE) / WIDTH, (self.row + SIDE) / HEIGHT


WALKERS = (Walker(first=0, last=29, row=20, mirrored=False), Walker(first=10, last=39, row=260, mirrored=True))
FRAMES = 45  # the last five frames are empty


def face() -> np.ndarray:
    astronaut = sample_image("astronaut")  # her face is within x 150..290, y 30..210
    return cv2.resize(astronaut[10:250, 110:330], (SIDE, SIDE), interpolation=cv2.INTER_AREA)


def frames() -> list[bytes]:
    """The clip's JPEGs, frame by frame."""
    picture = face()
    out = []
    for index in range(FRAMES):
        image = np.full((HEIGHT, WIDTH, 3), (90, 110, 100), np.uint8)
        for walker in WALKERS:
            if walker.first <= index <= walker.last:
                x = walker.left(index)
                image[walker.row:walker.row + SIDE, x:x + SIDE] = picture[:, ::-1] if walker.mirrored else picture
        out.append(jpeg_of(image))
    return out
