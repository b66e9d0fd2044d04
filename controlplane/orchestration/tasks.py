"""Reconcile in the background: after every committed change and every EI_RECONCILE_INTERVAL seconds
(Celery beat). Never two passes at once: a Redis lock; a request that arrives during a pass is served by
one more pass of the holder, so no change waits for the next beat."""

from __future__ import annotations

import logging

import redis
from celery import shared_task

from controlplane.core.redis import get_redis
from controlplane.orchestration.reconciler import Report, reconcile

log = logging.getLogger(__name__)

LOCK = "ei:reconcile:lock"
REQUESTED = "ei:reconcile:requested"
LOCK_TIMEOUT = 300  # seconds; a pass that dies holding the lock frees it after this


def reconcile_exclusively(*, wait: float = 0) -> list[Report] | None:
    """Run passes until no request is pending; None if another process holds the lock (it will serve us)."""
    client = get_redis()
    lock = client.lock(LOCK, timeout=LOCK_TIMEOUT, blocking=wait > 0, blocking_timeout=wait or None)
    if not lock.acquire():
        return None
    reports = []
    try:
        while True:
            client.delete(REQUESTED)
            reports.append(reconcile())
            if not client.exists(REQUESTED):
                return reports
    finally:
        lock.release()


@shared_task(ignore_result=True)
def reconcile_fleet() -> None:
    for report in reconcile_exclusively() or ():
        for line in report.lines():
            log.info("reconcile: %s", line)


def queue_pass(**_signal) -> None:
    """Receiver of :data:`controlplane.core.reconcile.reconcile_requested`: mark a pass as wanted and queue
    one. Never fails the caller: if Redis or Celery is down the change is saved all the same, and the next
    beat (or `manage.py reconcile`) applies it."""
    try:
        get_redis().set(REQUESTED, 1)
        reconcile_fleet.delay()
    except (redis.RedisError, OSError) as exc:
        log.warning("reconcile: could not queue a pass (%s); the next periodic pass applies the change", exc)
