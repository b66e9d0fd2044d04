"""``manage.py supervise``: run the local backend's processes until SIGTERM or Ctrl-C."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from controlplane.core.reconcile import request_reconcile
from controlplane.core.redis import get_redis
from controlplane.orchestration.supervisor.loop import Supervisor
from controlplane.orchestration.supervisor.processes import UnitProcesses
from controlplane.orchestration.supervisor.store import AnotherSupervisor
from controlplane.scaling.actions import scaling_event_record
from inference_worker.runtime import StopFlag

log = logging.getLogger("supervisor")


class Command(BaseCommand):
    help = "Run workers and producers on this machine as the local backend's units say, and autoscale them."

    def add_arguments(self, parser):
        parser.add_argument("--autoscale-interval", type=float, default=5.0, help="seconds between scaling decisions")
        parser.add_argument("--grace", type=float, default=30.0, help="seconds a process gets to stop before SIGKILL")

    def handle(self, *args, autoscale_interval: float, grace: float, **options):
        stop = StopFlag().install()
        start = UnitProcesses(redis_url=settings.REDIS_URL, media_root=settings.MEDIA_ROOT, cwd=str(settings.BASE_DIR))
        supervisor = Supervisor(get_redis(), start=start, autoscale_interval=autoscale_interval, grace=grace,
                                on_scale=self._record, nudge=self._nudge)
        try:
            supervisor.run(stop)
        except AnotherSupervisor as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def _record(**event) -> None:
        try:
            scaling_event_record(backend="local", **event)
        except Exception as exc:  # the database being busy or gone must not stop the fleet
            log.warning("supervisor: could not store a scaling event (%s): %s", exc, event)
        request_reconcile()

    @staticmethod
    def _nudge() -> None:
        """A status changed (or Redis lost the units): a pass now rather than at the next beat."""
        request_reconcile()
