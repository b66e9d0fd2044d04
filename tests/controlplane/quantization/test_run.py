"""The job's runner in this process, for what needs no NNCF run: a stream that stays silent, a job taken or
cancelled already, and jobs whose worker died (found by their silence, or by the next worker on the host)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from controlplane.quantization import actions, images
from controlplane.quantization.models import QuantizationJob
from controlplane.quantization.run import derived_name, run_job
from controlplane.registry.actions import model_create, model_delete
from controlplane.registry.models import InferenceModel
from controlplane.streams.actions import stream_create
from tests.controlplane.registry.model_support import BLAZEFACE, stored_files

pytestmark = pytest.mark.django_db(transaction=True)  # the runner's sign-of-life thread has its own connection


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def parent() -> InferenceModel:
    return model_create(name="faces", file=SimpleUploadedFile("faces.tflite", BLAZEFACE.read_bytes()), queue_validation=False)


def job_for(parent: InferenceModel, **fields) -> QuantizationJob:
    return QuantizationJob.objects.create(model=parent, frame_count=8, holdout=8, **fields)


def test_a_silent_stream_fails_the_job_saying_what_to_check(parent, settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.EI_QUANTIZATION_IDLE_SECONDS = 0.8
    stream = stream_create(name="quiet", source_kind="external", queue="face")
    job = job_for(parent, stream=stream, stream_name="quiet")
    ended = run_job(job.pk, worker="test pid 1")
    assert (ended.state, ended.result, ended.finished is not None) == ("failed", None, True)
    assert ended.message == (
        "stream quiet produced no results for 0.8 s: is a service running on it? (0 of 16 frames collected)"
    )
    assert list(InferenceModel.objects.filter(builtin="").values_list("name", flat=True)) == ["faces"]


def test_a_job_cancelled_or_taken_already_is_not_run(parent):
    cancelled = job_for(parent, state="cancelled")
    taken = job_for(parent, state="collecting", worker="elsewhere pid 5")
    asked = job_for(parent, cancel_requested=True)
    assert [run_job(job.pk) for job in (cancelled, taken, asked)] == [None, None, None]
    assert QuantizationJob.objects.get(pk=taken.pk).worker == "elsewhere pid 5"


def test_derived_names_are_readable_unique_per_job_and_fit(parent):
    assert derived_name(parent, 7) == ("faces-int8", "1-q7")
    long = InferenceModel(name="n" * 64, version="v" * 32)
    name, version = derived_name(long, 123)
    assert (len(name), len(version), name.endswith("-int8"), version.endswith("-q123")) == (64, 32, True, True)


def _interrupted_with_leftovers(parent, **fields) -> QuantizationJob:
    """A running job that had stored images and registered its model when its worker died."""
    folder, names = images.save_images([SimpleUploadedFile("a.jpg", b"\xff\xd8\xff" + b"0" * 64)])
    made = model_create(
        name="faces-int8", version="1-q1", file=SimpleUploadedFile("faces-int8.tflite", BLAZEFACE.read_bytes()),
        derived_from=parent, queue_validation=False,
    )
    return job_for(parent, images_folder=folder, images=names, result=made, **fields)


def test_a_running_job_not_heard_from_is_failed_as_interrupted_and_its_leftovers_deleted(
    parent, media, settings, django_capture_on_commit_callbacks
):
    settings.EI_QUANTIZATION_STALE_SECONDS = 120
    silent = _interrupted_with_leftovers(parent, state="quantizing", worker="gone pid 4")
    QuantizationJob.objects.filter(pk=silent.pk).update(updated=timezone.now() - timedelta(minutes=3))
    busy = job_for(parent, state="collecting", worker="busy pid 5")  # heard from just now
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.quantization_fail_interrupted() == 1
    silent.refresh_from_db()
    assert (silent.state, silent.result, silent.images) == ("failed", None, [])
    assert silent.message == (
        "interrupted while quantizing: no sign of life for 120 s (the Celery worker stopped?); start it again"
    )
    assert QuantizationJob.objects.get(pk=busy.pk).state == "collecting"
    assert list(InferenceModel.objects.filter(builtin="").values_list("name", flat=True)) == ["faces"]
    assert stored_files(media) == ["models/faces/1/faces.tflite"]


def test_a_worker_starting_fails_its_hosts_jobs_whose_process_is_gone(parent, django_capture_on_commit_callbacks):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    died = _interrupted_with_leftovers(parent, state="measuring", worker=f"celery@box pid {dead_pid}")
    alive = job_for(parent, state="collecting", worker=f"celery@box pid {os.getppid()}")
    other_host = job_for(parent, state="collecting", worker=f"celery@other pid {dead_pid}")
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.quantization_fail_interrupted(hostname="celery@box") == 1
    died.refresh_from_db()
    assert died.state == "failed" and f"its worker process (celery@box pid {dead_pid}) is gone" in died.message
    assert died.message.startswith("interrupted while measuring: ")
    assert {job.state for job in QuantizationJob.objects.filter(pk__in=[alive.pk, other_host.pk])} == {"collecting"}
    assert not InferenceModel.objects.filter(name="faces-int8").exists()


def test_a_job_whose_model_is_deleted_while_it_runs_stops_and_leaves_nothing(parent, settings, redis_url, media):
    settings.REDIS_URL = redis_url
    stream = stream_create(name="slow", source_kind="external", queue="face")
    job = job_for(parent, stream=stream, stream_name="slow")

    def delete_the_parent():
        time.sleep(0.8)
        model_delete(model=InferenceModel.objects.get(pk=parent.pk))
        connection.close()

    deleting = threading.Thread(target=delete_the_parent)
    deleting.start()
    try:
        assert run_job(job.pk, worker="test pid 1") is None
    finally:
        deleting.join()
    assert not QuantizationJob.objects.exists()
    assert not InferenceModel.objects.filter(builtin="").exists()
    assert stored_files(media) == []
