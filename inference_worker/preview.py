"""A small copy of a frame for screens that show many streams at once.

A dashboard grid draws tiles a few hundred pixels wide; sending it full frames costs every hop (Redis,
the web server, the socket, the browser's decoder) three to four times what the tile can show. The worker already holds the decoded pixels, so a preview costs it a resize and an encode.

That is still more than the JPEG decode for a small model, so :class:`PreviewGate` makes previews
only for streams someone watches (``protocol.watched_key``) and at most ``protocol.PREVIEW_MAX_FPS``
of them per second per stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import simplejpeg

from inference_worker import protocol

QUALITY = 75
SKIPPED = b""  # the ``preview`` of a result whose frame is wider than the preview width, but had none
WATCH_CHECK_SECONDS = 1.0  # how stale a stream's watched state may be: one Redis EXISTS per stream per second


@dataclass(slots=True)
class _StreamState:
    watched: bool = False
    checked: float = float("-inf")  # monotonic time of the last look at the stream's watched key
    due: float = float("-inf")  # when the next preview may be made


class PreviewGate:
    """Whether a frame gets a preview: only when its stream is watched, at most ``max_fps`` per second.

    ``watched(stream)`` asks Redis (True/False, or None when it cannot tell: the last answer is kept);
    it is called at most once per ``check_every`` seconds per stream, so the hot path makes no round
    trip per frame. Used on one thread, the worker's pop loop.
    """

    def __init__(
        self, watched: Callable[[str], bool | None], *, max_fps: float = protocol.PREVIEW_MAX_FPS,
        check_every: float = WATCH_CHECK_SECONDS, clock: Callable[[], float] = time.monotonic,
    ):
        self._watched = watched
        self.max_fps = max_fps
        self.check_every = check_every
        self._clock = clock
        self._streams: dict[str, _StreamState] = {}

    def wanted(self, stream: str) -> bool:
        now = self._clock()
        state = self._streams.get(stream)
        if state is None:
            state = self._streams[stream] = _StreamState()
        if now - state.checked >= self.check_every:
            state.checked = now
            answer = self._watched(stream)
            if answer is not None:
                state.watched = answer
        if not state.watched:
            return False
        if now < state.due:
            return False
        # One interval after the last, so that frames arriving between the due times lose no rate; but
        # no credit saved up while the stream was idle or unwatched (at most two previews back to back).
        interval = 1.0 / self.max_fps
        state.due = max(state.due, now - interval) + interval
        return True


def make_preview(jpeg: bytes, width: int, height: int, picture: np.ndarray | None, max_width: int) -> bytes | None:
    """A JPEG at most ``max_width`` wide, or None when the frame is no wider (it is its own preview).

    ``picture`` is the frame as decoded for inference (BGR, possibly at a reduced scale); it is used
    when it has pixels enough, otherwise the JPEG is decoded again at the smallest scale that does.
    """
    if max_width <= 0 or width <= max_width:
        return None
    size = (max_width, max(1, round(height * max_width / width)))
    if picture is None or picture.shape[1] < size[0]:
        picture = simplejpeg.decode_jpeg(jpeg, "BGR", fastdct=True, fastupsample=True,
                                         min_width=size[0], min_height=size[1])
    if (picture.shape[1], picture.shape[0]) != size:
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    return simplejpeg.encode_jpeg(np.ascontiguousarray(picture), QUALITY, "BGR", "420", fastdct=True)
