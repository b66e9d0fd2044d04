"""``manage.py reconcile``: one pass by hand, printing what it did."""

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from controlplane.orchestration.tasks import reconcile_exclusively


class Command(BaseCommand):
    help = "Make the fleet match the database once and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=60, help="seconds to wait for a pass already running")

    def handle(self, *args, wait: float, **options):
        try:
            reports = reconcile_exclusively(wait=wait)
        except redis.RedisError as exc:
            raise CommandError(f"cannot take the reconcile lock: Redis at {settings.REDIS_URL} is unreachable ({exc})")
        if reports is None:
            raise CommandError(f"another reconcile pass held the lock for {wait:g} s")
        lines = [line for report in reports for line in report.lines()]
        for line in lines:
            self.stdout.write(line)
        if not lines:
            self.stdout.write("nothing to do: the fleet matches the database")
        if any(report.errors for report in reports):
            raise CommandError("some units could not be applied (see above)")
