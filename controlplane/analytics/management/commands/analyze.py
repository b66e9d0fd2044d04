"""``python manage.py analyze``: track objects in the result streams and write events, until SIGTERM/SIGINT.
Run as many as the streams need: they share the streams by leases in Redis."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from controlplane.analytics.analyzer import Analyzer, Settings
from inference_worker.runtime import StopFlag, redis_client

DEFAULTS = Settings()


def _env(name: str, default):
    return type(default)(os.environ.get(name) or default)


class Command(BaseCommand):
    help = "Track the objects of every result stream and keep one event per tracked object."

    def add_arguments(self, parser):
        parser.add_argument("--redis", default=settings.REDIS_URL, help="Redis with the result streams (REDIS_URL)")
        parser.add_argument("--window", type=float, default=_env("EI_ANALYTICS_WINDOW", DEFAULTS.window),
                            help="longest a result waits for earlier ones of its queue, seconds (EI_ANALYTICS_WINDOW)")
        parser.add_argument("--min-frames", type=int, default=_env("EI_EVENT_MIN_FRAMES", DEFAULTS.min_frames),
                            help="a track seen in fewer results is noise, not an event (EI_EVENT_MIN_FRAMES)")
        parser.add_argument("--high-score", type=float, default=_env("EI_TRACK_HIGH_SCORE", DEFAULTS.high_score),
                            help="score a detection needs to start a track (EI_TRACK_HIGH_SCORE)")
        parser.add_argument("--iou", type=float, default=_env("EI_TRACK_IOU", DEFAULTS.iou),
                            help="overlap a detection needs with a track's predicted box to continue it (EI_TRACK_IOU)")
        parser.add_argument("--lifespan", type=float, default=_env("EI_TRACK_LIFESPAN", DEFAULTS.lifespan),
                            help="seconds unseen after which a track has ended (EI_TRACK_LIFESPAN)")
        parser.add_argument("--lease-ttl", type=float, default=_env("EI_ANALYTICS_LEASE_TTL", DEFAULTS.lease_ttl),
                            help="seconds after which a dead analyzer's streams go to another (EI_ANALYTICS_LEASE_TTL)")

    def handle(self, *args, redis, window, min_frames, high_score, iou, lifespan, lease_ttl, **options):
        analyzer_settings = Settings(window=window, min_frames=min_frames, high_score=high_score, iou=iou,
                                     lifespan=lifespan, lease_ttl=lease_ttl)
        Analyzer(redis_client(redis), settings=analyzer_settings).run(StopFlag().install())
