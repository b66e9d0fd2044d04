"""``python -m producers {file,camera,url}``: arguments, with environment fallbacks, then the publishing loop."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

from inference_worker.protocol import valid_name
from inference_worker.runtime import DEFAULT_REDIS_URL, StopFlag, env, setup_logging
from producers.camera import camera_index
from producers.producer import Settings, run, scaled_size
from producers.sources import FALLBACK_FILE_FPS, Source, SourceError, redact


def _name(value: str) -> str:
    if not valid_name(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a valid name: 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value


def _number(kind: type[int] | type[float], low: float, high: float = math.inf) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = kind(value)
        except ValueError:
            number = math.nan
        if not low <= number <= high:  # also refuses NaN
            bounds = f"at least {low}" if high == math.inf else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"{value!r} is not {'an integer' if kind is int else 'a number'} {bounds}")
        return number
    return parse


def _camera(value: str) -> int:
    try:
        return camera_index(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stream", required=True, type=_name, help="stream name, carried by every frame")
    common.add_argument("--queue", dest="queues", action="append", required=True, type=_name,
                        help="inference queue to feed (repeat to feed several with the same frames)")
    common.add_argument("--fps", type=_number(float, 0.01, 1000),
                        help="most frames per second to publish (default: a file's own rate, 15 for live sources)")
    common.add_argument("--max-width", type=_number(int, 0), default=env("EI_MAX_WIDTH", "640"),
                        help="shrink wider frames to this width, 0 keeps the size (env EI_MAX_WIDTH, default 640)")
    common.add_argument("--jpeg-quality", type=_number(int, 1, 100), default=env("EI_JPEG_QUALITY", "80"),
                        help="JPEG quality 1-100 (env EI_JPEG_QUALITY, default 80)")
    common.add_argument("--max-queue", type=_number(int, 1), default=env("EI_MAX_QUEUE", "32"),
                        help="keep the newest this many frames per queue (env EI_MAX_QUEUE, default 32)")
    common.add_argument("--redis", default=env("REDIS_URL", DEFAULT_REDIS_URL),
                        help=f"Redis URL (env REDIS_URL, default {DEFAULT_REDIS_URL})")

    parser = argparse.ArgumentParser(prog="python -m producers",
                                     description="Publish video frames to Elastic Inference queues in Redis.")
    parser.set_defaults(loop=False)  # only files loop
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="{file,camera,url}")
    file = kinds.add_parser("file", parents=[common], help="a video file, played in real time")
    file.add_argument("address", metavar="PATH")
    file.add_argument("--loop", action="store_true", help="start again at the end instead of exiting")
    camera = kinds.add_parser("camera", parents=[common], help="a V4L2 camera")
    camera.add_argument("--device", dest="address", type=_camera, default=0, metavar="N",
                        help="camera index N, or /dev/videoN (default 0)")
    url = kinds.add_parser("url", parents=[common], help="an RTSP or HTTP stream")
    url.add_argument("address", metavar="URL")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log = setup_logging("producer")
    stop = StopFlag().install()
    try:
        source = Source(args.kind, str(args.address))
    except SourceError as exc:
        print(f"producer: {exc}", file=sys.stderr)
        return 2
    fps = args.fps or source.default_fps()
    if fps is None:
        fps = FALLBACK_FILE_FPS
        log.warning("%s reports %r fps, which makes no sense: playing it at %g fps", source.label,
                    source.native_fps, fps)
    settings = Settings(
        stream=args.stream, queues=list(dict.fromkeys(args.queues)), fps=fps, loop=args.loop,
        max_width=args.max_width, jpeg_quality=args.jpeg_quality, max_queue=args.max_queue, redis_url=args.redis,
    )
    width, height = scaled_size(source.width, source.height, settings.max_width)
    log.info("publishing %s (%dx%d sent as %dx%d) at %g fps%s as stream %s to queues %s on %s, at most %d per queue",
             source.label, source.width, source.height, width, height, fps, ", looping" if settings.loop else "",
             settings.stream, ",".join(settings.queues), redact(settings.redis_url), settings.max_queue)
    return run(settings, source, stop, log)
