"""Entry point of ``python -m producers``."""

import os

# Before OpenCV loads: keep its warnings and FFmpeg's (AV_LOG_QUIET) off stderr, where a source that
# cannot be opened gets one clear line; the producer logs what matters itself.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from producers.cli import main  # noqa: E402

raise SystemExit(main())
