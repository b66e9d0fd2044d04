"""Video sources behind one interface: a file, a V4L2 camera or an RTSP/HTTP URL, all read with OpenCV.

Opening reads the first frame, so a file OpenCV cannot decode fails at start with a clear message
instead of producing nothing.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

LIVE_FPS = 15.0
MAX_FILE_FPS = 120.0
FALLBACK_FILE_FPS = 25.0
URL_TIMEOUT_MS = 10_000


class SourceError(Exception):
    """A source that cannot be used; the message is shown to the user as it is."""


def redact(url: str) -> str:
    """``url`` without its password, for logs and the heartbeat."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class Source:
    """One OpenCV capture; ``live`` sources (camera, URL) run in real time, files are paced by the caller."""

    def __init__(self, kind: str, address: str) -> None:
        self.kind, self.address = kind, address
        self.live = kind != "file"
        self.label = f"{kind}:{redact(address)}"
        if kind == "file":
            self._check_file()
        self._cap = self._open()
        if not self._cap.isOpened():
            raise SourceError(self._failure())
        ok, image = self._cap.read()
        if not ok:
            self._cap.release()
            raise SourceError(self._failure("no frame could be decoded"))
        self._pending: np.ndarray | None = image
        self.height, self.width = image.shape[:2]
        self.native_fps = self._cap.get(cv2.CAP_PROP_FPS)

    def _check_file(self) -> None:
        path = Path(self.address)
        if not path.exists():
            raise SourceError(self._failure("no such file"))
        if path.is_dir():
            raise SourceError(self._failure("is a directory"))
        if not os.access(path, os.R_OK):
            raise SourceError(self._failure("permission denied"))

    def _failure(self, reason: str = "") -> str:
        if self.kind == "file":
            return f"cannot open video file {self.address!r}: {reason or 'not a video OpenCV can decode'}"
        if self.kind == "camera":
            return (f"cannot open camera {self.address} (/dev/video{self.address}): "
                    f"{reason or 'missing, busy or not permitted'}")
        return f"cannot open URL {redact(self.address)!r}: {reason or 'unreachable, refused or not a video stream'}"

    def _open(self) -> cv2.VideoCapture:
        if self.kind == "camera":
            return cv2.VideoCapture(int(self.address), cv2.CAP_V4L2)
        if self.kind == "url":
            timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, URL_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, URL_TIMEOUT_MS]
            return cv2.VideoCapture(self.address, cv2.CAP_FFMPEG, timeouts)
        return cv2.VideoCapture(self.address)

    def default_fps(self) -> float | None:
        """The publishing rate when none is asked for; None if the file reports a rate that makes no sense."""
        if self.live:
            return LIVE_FPS
        fps = self.native_fps
        return fps if math.isfinite(fps) and 0 < fps <= MAX_FILE_FPS else None

    def read(self) -> np.ndarray | None:
        """The next BGR frame; None at the end of a file or when a live feed stops delivering."""
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        ok, image = self._cap.read()
        return image if ok else None

    def reopen(self) -> bool:
        """Start over: a file from its first frame, a live feed with a fresh connection."""
        self._cap.release()
        self._cap = self._open()
        return self._cap.isOpened()

    def close(self) -> None:
        self._cap.release()
