"""From a popped message to the model's input: what to do with a frame, then its JPEG decoded on a pool.

:func:`screen` decides (no side effects): a frame to decode, one too old to be worth it, or one that
cannot be used. :class:`DecodePool` decodes on threads and hands frames back in the order they came in.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import simplejpeg

from inference_worker import protocol
from inference_worker.preview import SKIPPED, make_preview

if TYPE_CHECKING:
    from inference_worker.engine import Prepared

log = logging.getLogger("ei.worker")


@dataclass(frozen=True, slots=True)
class Expired:
    """Older than the worker's max age when popped: counted as dropped, never decoded."""

    stream: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """Unusable input; ``kind`` names the problem so it can be counted and logged once."""

    stream: str | None  # None when the message names no stream that can be trusted
    kind: str
    detail: str


def screen(raw: bytes, *, now: float, max_age: float) -> protocol.Frame | Expired | Rejected:
    """Parse a message and check the frame's age and its JPEG header against its declared size.

    Only the header is read here, so the cheap checks run on the pop loop and bad frames never reach
    a decoding thread.
    """
    try:
        frame = protocol.decode_frame(raw)
    except protocol.FrameError as exc:
        return Rejected(None, exc.kind, exc.detail)
    if now - frame.ts > max_age:
        return Expired(frame.stream)
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(frame.data)
    except ValueError as exc:
        return _corrupt(frame, exc)
    if (width, height) != (frame.width, frame.height):
        return Rejected(frame.stream, "size-mismatch", f"header says {frame.width}x{frame.height}, JPEG is {width}x{height}")
    return frame


def _corrupt(frame: protocol.Frame, exc: ValueError) -> Rejected:
    return Rejected(frame.stream, "corrupt-jpeg", f"stream {frame.stream} seq {frame.seq}: {exc}")


class RejectLog:
    """Log each kind of bad input once (then every 1000th), so a flood of garbage cannot flood the log."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, rejected: Rejected) -> None:
        n = self.seen.get(rejected.kind, 0) + 1
        self.seen[rejected.kind] = n
        if n == 1 or n % 1000 == 0:
            log.warning("rejected frame (%s, %d so far): %s", rejected.kind, n, rejected.detail)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A frame ready for inference, with the preview made from the same pixels (None: the frame is its own
    preview or previews are off; ``SKIPPED``: a wider frame whose preview was not wanted)."""

    frame: protocol.Frame
    prepared: Prepared
    preview: bytes | None


class DecodePool:
    """JPEG decoding on a thread pool (simplejpeg releases the GIL), handed back in arrival order.

    At most one pending decode per thread: decoding spreads over all cores while the pop loop keeps
    popping, and frames beyond that (and the pop loop's last batch) wait in Redis rather than in memory.
    """

    def __init__(self, prepare: Callable[[bytes, int, int], Prepared], *, threads: int, preview_width: int):
        self._prepare = prepare
        self._preview_width = preview_width
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode")
        self._pending: deque[tuple[protocol.Frame, Future]] = deque()

    def wants_preview(self, frame: protocol.Frame) -> bool:
        """Whether a preview of ``frame`` could be made: previews are on and it is wider than them."""
        return 0 < self._preview_width < frame.width

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, frame: protocol.Frame, *, preview: bool = True) -> None:
        """Start decoding a frame that :func:`screen` let through; ``preview``: make its preview, if it can have one."""
        self._pending.append((frame, self._pool.submit(self._decode, frame, preview)))

    def ready(self) -> Iterator[Decoded | Rejected]:
        """The oldest frames that are decoded, or that must be waited for to keep one pending per thread."""
        while len(self._pending) > self.threads or (self._pending and self._pending[0][1].done()):
            yield self.oldest()

    def oldest(self) -> Decoded | Rejected:
        """The oldest pending frame, waiting for its decode; a JPEG whose body is corrupt is rejected."""
        frame, decoding = self._pending.popleft()
        try:
            return decoding.result()
        except ValueError as exc:
            return _corrupt(frame, exc)

    def shutdown(self) -> None:
        self._pool.shutdown()

    def _decode(self, frame: protocol.Frame, preview: bool) -> Decoded:
        prepared = self._prepare(frame.data, frame.width, frame.height)
        if not self.wants_preview(frame):
            return Decoded(frame, prepared, None)
        if not preview:
            return Decoded(frame, prepared, SKIPPED)
        return Decoded(frame, prepared, make_preview(frame.data, frame.width, frame.height, prepared.picture, self._preview_width))
