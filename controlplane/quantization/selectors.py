"""Reads of quantization jobs."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.quantization.models import QuantizationJob


def job_list() -> QuerySet[QuantizationJob]:
    return QuantizationJob.objects.select_related("model", "result")


def job_get(*, job_id: int) -> QuantizationJob:
    """Raises ``QuantizationJob.DoesNotExist``."""
    return job_list().get(pk=job_id)


def cancel_requested(*, job_id: int) -> bool:
    """Whether the job should stop: a cancel was asked for, or the job is gone (its model was deleted)."""
    return not QuantizationJob.objects.filter(pk=job_id, cancel_requested=False).exists()


def jobs_running(*, worker_prefix: str | None = None) -> QuerySet[QuantizationJob]:
    jobs = QuantizationJob.objects.filter(state__in=QuantizationJob.RUNNING)
    return jobs.filter(worker__startswith=worker_prefix) if worker_prefix else jobs
