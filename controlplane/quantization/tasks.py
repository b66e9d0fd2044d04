"""Celery tasks of quantization: JSON arguments only.

The job's own task is acknowledged when it starts (not late, unlike the project's default): a job is
minutes of work that a redelivery would start over behind a user's back. A job whose worker died is failed
instead, as "interrupted", by the periodic check and by the next worker that starts on the same host.
"""

from __future__ import annotations

import os

from celery import shared_task
from celery.signals import worker_ready


@shared_task(bind=True, acks_late=False, ignore_result=True)
def run_quantization(self, job_id: int) -> None:
    """Run one job; a job cancelled or taken already is a no-op."""
    # Imported here, not above: the web process imports this module to queue the task, and must not load
    # OpenVINO, OpenCV and NNCF, which only the run needs.
    from controlplane.quantization.run import run_job

    run_job(job_id, worker=f"{self.request.hostname or 'celery'} pid {os.getpid()}")


@shared_task(ignore_result=True)
def fail_interrupted_jobs() -> int:
    """Periodic (beat): fail the running jobs not heard from for ``EI_QUANTIZATION_STALE_SECONDS``."""
    from controlplane.quantization.actions import quantization_fail_interrupted

    return quantization_fail_interrupted()


@worker_ready.connect
def _fail_jobs_of_a_dead_predecessor(sender=None, **_kwargs) -> None:
    """A worker starting on a host fails that host's running jobs whose process is gone (it was killed)."""
    from controlplane.quantization.actions import quantization_fail_interrupted

    quantization_fail_interrupted(hostname=getattr(sender, "hostname", None))
