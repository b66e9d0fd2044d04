"""Celery tasks of the telemetry: JSON arguments only."""

from __future__ import annotations

import logging

from celery import shared_task

from controlplane.telemetry import history
from inference_worker.runtime import REDIS_ERRORS

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sample_fleet() -> None:
    """One history sample per inference service, every ``history.INTERVAL_SECONDS`` (Celery beat).

    A beat missed or run twice is harmless: the chart shows a gap, or the slot's sample is kept once.
    """
    try:
        history.fleet_history_record()
    except REDIS_ERRORS as exc:
        log.warning("fleet history: no sample this beat, redis unavailable (%s)", exc)
