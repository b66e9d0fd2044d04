"""``python manage.py analyze``: track objects in the result streams and write events, until SIGTERM/SIGINT.
Run as many as the streams need: they share the streams by leases in Redis."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from controlplane.analytics.analyzer import Analyzer, Settings
from inference_worker.runtime import StopFlag, redis_client

# (Settings field, environment variable, help): each an option --<field> whose default is the variable's
# value, or the field's own default.
OPTIONS = [
    ("window", "EI_ANALYTICS_WINDOW", "longest a result waits for earlier ones of its queue, seconds"),
    ("min_frames", "EI_EVENT_MIN_FRAMES", "a track seen in fewer results is noise, not an event"),
    ("high_score", "EI_TRACK_HIGH_SCORE", "score a detection needs to start a track"),
    ("iou", "EI_TRACK_IOU", "overlap a detection needs with a track's predicted box to continue it"),
    ("lifespan", "EI_TRACK_LIFESPAN", "seconds unseen after which a track has ended"),
    ("lease_ttl", "EI_ANALYTICS_LEASE_TTL", "seconds after which a dead analyzer's streams go to another"),
]


class Command(BaseCommand):
    help = "Track the objects of every result stream and keep one event per tracked object."

    def add_arguments(self, parser):
        parser.add_argument("--redis", default=settings.REDIS_URL, help="Redis with the result streams (REDIS_URL)")
        defaults = Settings()
        for field, variable, text in OPTIONS:
            default = getattr(defaults, field)
            parser.add_argument(f"--{field.replace('_', '-')}", type=type(default),
                                default=type(default)(os.environ.get(variable) or default), help=f"{text} ({variable})")

    def handle(self, *args, redis, **options):
        chosen = Settings(**{field: options[field] for field, _, _ in OPTIONS})
        Analyzer(redis_client(redis), settings=chosen).run(StopFlag().install())
