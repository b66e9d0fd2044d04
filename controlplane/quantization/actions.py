"""Writes of quantization jobs: starting one (checked at once, so a mistake is a 400, not a failed job),
cancelling one, the runner's state changes, and failing the jobs whose worker died.

A job's leftovers (its uploaded images, and the model it made if it did not end ``done``) are deleted when
it ends, however it ends.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from rest_framework import exceptions

from controlplane.quantization import images as stored_images
from controlplane.quantization import selectors
from controlplane.quantization.models import MAX_FRAMES, MIN_FRAMES, QuantizationJob, holdout_for
from controlplane.quantization.tasks import run_quantization
from controlplane.registry.actions import model_delete
from controlplane.registry.models import InferenceModel
from controlplane.streams.models import Stream

log = logging.getLogger("ei.quantization")

State = QuantizationJob.State


class JobEnded(exceptions.APIException):
    status_code = 409
    default_code = "conflict"
    default_detail = "The job has ended already."


def _invalid(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


def _check_parent(model: InferenceModel) -> None:
    if model.precision == InferenceModel.Precision.INT8:
        raise _invalid(
            "model",
            f"Model {model} is INT8 already (quantized): there is nothing to quantize; quantize an FP32 model instead.",
        )
    if model.status != InferenceModel.Status.READY:
        raise _invalid(
            "model",
            f"Model {model} is {model.status}, not ready: only a model that passed validation can be quantized.",
        )


def calibration_frames_for(image_count: int) -> int:
    """The most calibration frames ``image_count`` images give, with their held-out share; 0 if too few."""
    for frame_count in range(min(MAX_FRAMES, image_count), MIN_FRAMES - 1, -1):
        if frame_count + holdout_for(frame_count) <= image_count:
            return frame_count
    return 0


def _frames_from_images(images: Sequence[File], frame_count: int | None) -> int:
    least = MIN_FRAMES + holdout_for(MIN_FRAMES)
    if frame_count is None:
        frame_count = calibration_frames_for(len(images))
        if not frame_count:
            raise _invalid(
                "images",
                f"{len(images)} images are too few: send at least {least} ({MIN_FRAMES} to calibrate on and "
                f"{holdout_for(MIN_FRAMES)} held out to measure on).",
            )
        return frame_count
    needed = frame_count + holdout_for(frame_count)
    if len(images) < needed:
        raise _invalid(
            "images",
            f"{len(images)} images are too few for {frame_count} calibration frames: send at least {needed} "
            f"({frame_count} to calibrate on and {holdout_for(frame_count)} held out to measure on), "
            "or ask for fewer frames.",
        )
    return frame_count


def quantization_start(
    *, model: InferenceModel, stream: str | None = None, images: Sequence[File] = (), frame_count: int | None = None,
) -> QuantizationJob:
    """Queue the INT8 quantization of ``model``, calibrated on ``frame_count`` frames of ``stream``'s results
    or on uploaded ``images`` (then ``frame_count`` defaults to what they give). Raises ValidationError (400)
    naming the field at fault."""
    _check_parent(model)
    if bool(stream) == bool(images):
        raise _invalid("non_field_errors", "Give either a stream (its results are the frames) or images, not both.")
    if frame_count is not None and not MIN_FRAMES <= frame_count <= MAX_FRAMES:
        raise _invalid("frames", f"Between {MIN_FRAMES} and {MAX_FRAMES} frames.")
    row = QuantizationJob(model=model)
    if stream:
        try:
            row.stream = Stream.objects.get(name=stream)
        except Stream.DoesNotExist:
            raise _invalid("stream", f"No stream named {stream!r}.") from None
        row.stream_name = row.stream.name
        row.frame_count = frame_count or QuantizationJob._meta.get_field("frame_count").default
    else:
        for upload in images:
            problem = stored_images.image_problem(upload)
            if problem:
                raise _invalid("images", f"{upload.name} {problem}.")
        row.frame_count = _frames_from_images(images, frame_count)
    row.holdout = holdout_for(row.frame_count)
    if images:  # saved before the short transaction, as the registry does with model files
        row.images_folder, row.images = stored_images.save_images(images[: row.frames_needed])
    try:
        with transaction.atomic():
            row.full_clean()
            row.save()
            job_id = row.pk
            transaction.on_commit(lambda: run_quantization.delay(job_id), robust=True)
    except BaseException:
        stored_images.delete_images(row.images_folder, row.images)
        raise
    return row


def quantization_cancel(*, job: QuantizationJob) -> QuantizationJob:
    """A queued job ends cancelled now; a running one is asked to stop and ends cancelled at its next check
    (between phases, and about twice a second while it collects frames), deleting what it made."""
    with transaction.atomic():
        job.refresh_from_db()
        if job.state in QuantizationJob.ENDED:
            raise JobEnded(f"Quantization {job.pk} has ended already ({job.state}): there is nothing to cancel.")
        job.cancel_requested = True
        fields = ["cancel_requested", "updated"]
        if job.state == State.QUEUED:
            job.state, job.message, job.finished = State.CANCELLED, "cancelled before it started", timezone.now()
            fields += ["state", "message", "finished"]
            folder, names = job.images_folder, job.images
            transaction.on_commit(lambda: stored_images.delete_images(folder, names), robust=True)
        else:
            job.message = f"cancelling ({job.get_state_display().lower()})"
            fields.append("message")
        job.save(update_fields=fields)
    return job


# The runner's writes (``run.py``): single-row updates that never overwrite what they do not name.

def job_claim(*, job_id: int, worker: str) -> bool:
    """Take a queued job (a no-op for one cancelled or taken already); True if this worker has it now."""
    return bool(
        QuantizationJob.objects.filter(pk=job_id, state=State.QUEUED, cancel_requested=False).update(
            state=State.COLLECTING, worker=worker, message="collecting frames", updated=timezone.now()
        )
    )


def job_report(*, job_id: int, **fields) -> None:
    """Write the job's progress (state, collected, progress, message, result) while it runs."""
    QuantizationJob.objects.filter(pk=job_id).update(**fields, updated=timezone.now())


def job_touch(*, job_id: int) -> None:
    """A running job's sign of life (see :func:`quantization_fail_interrupted`)."""
    QuantizationJob.objects.filter(pk=job_id, state__in=QuantizationJob.RUNNING).update(updated=timezone.now())


def _discard_result(job: QuantizationJob) -> str:
    """Delete the model a job made but did not finish; returns a note when it cannot be."""
    model = InferenceModel.objects.filter(pk=job.result_id).first() if job.result_id else None
    if model is None:
        return ""
    try:
        model_delete(model=model)
    except ProtectedError:
        return f" (its model {model} is kept: a service uses it already)"
    return ""


def job_end(
    *, job_id: int, state: str, message: str, known: QuantizationJob | None = None, **fields
) -> QuantizationJob | None:
    """End a job: done, failed or cancelled. Unless it is done, the model it made goes; its images go anyway.
    A job deleted meanwhile (with its parent model) is cleaned up from ``known``, what the runner knew of it;
    it returns None then."""
    try:
        job = selectors.job_get(job_id=job_id)
    except QuantizationJob.DoesNotExist:
        if known is not None:
            _discard_result(known)
            stored_images.delete_images(known.images_folder, known.images)
        return None
    if known is not None and known.result_id and not job.result_id:
        job.result_id = known.result_id  # registered, but its report did not get through
    kept = "" if state == State.DONE else _discard_result(job)
    stored_images.delete_images(job.images_folder, job.images)
    ended = {"state": state, "message": message + kept, "finished": timezone.now(), "images": [], **fields}
    if state != State.DONE and not kept:
        ended["result"] = None
    job_report(job_id=job_id, **ended)
    return selectors.job_get(job_id=job_id)


def _process_gone(worker: str, hostname: str) -> bool:
    """Whether the process a job names ("<hostname> pid <n>") is gone, asked by a worker of ``hostname`` as it
    starts: then no job runs in this very process yet, so one naming it (a container's restarted pid 1) died."""
    prefix = f"{hostname} pid "
    if not worker.startswith(prefix):
        return False
    try:
        pid = int(worker[len(prefix):])
    except ValueError:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process has that pid now: ours is gone
        return True
    return False


def quantization_fail_interrupted(*, hostname: str | None = None) -> int:
    """Fail the jobs whose worker died: with ``hostname`` (a Celery worker starting), its jobs whose process is
    gone; always, the running jobs not heard from for ``EI_QUANTIZATION_STALE_SECONDS`` (a running job's
    process writes a sign of life every few seconds). Returns how many it failed."""
    stale_seconds = settings.EI_QUANTIZATION_STALE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale_seconds)
    failed = 0
    for job in selectors.jobs_running():
        if job.updated < cutoff:
            why = f"no sign of life for {stale_seconds:g} s"
        elif hostname and _process_gone(job.worker, hostname):
            why = f"its worker process ({job.worker}) is gone"
        else:
            continue
        log.warning("quantization %s interrupted: %s", job.pk, why)
        job_end(
            job_id=job.pk, state=State.FAILED,
            message=f"interrupted while {job.get_state_display().lower()}: {why} (the Celery worker stopped?); start it again",
        )
        failed += 1
    return failed
