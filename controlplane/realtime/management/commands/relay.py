"""``python manage.py relay``: forward results from Redis to websocket clients until SIGTERM/SIGINT."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand

from controlplane.realtime.relay import Relay, serve


class Command(BaseCommand):
    help = "Relay inference results from the Redis result streams to the websocket clients watching them."

    def add_arguments(self, parser):
        parser.add_argument("--redis", default=settings.REDIS_URL, help="Redis with the result streams (REDIS_URL)")
        parser.add_argument("--refresh", type=float, default=1.0, help="seconds between looks for new streams")
        parser.add_argument(
            "--backfill", type=float, default=5.0,
            help="seconds of results sent from before a stream was found, so its first results are not lost",
        )

    def handle(self, *args, redis, refresh, backfill, **options):
        asyncio.run(serve(Relay(redis, refresh=refresh, backfill=backfill)))
