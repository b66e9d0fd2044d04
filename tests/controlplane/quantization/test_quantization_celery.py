"""Quantization end to end through a real Celery worker, over the test Redis, on real models and frames: the
built-in people detector calibrated on the street video's results, the built-in face detector on uploaded
pictures (builtin:vehicles, Coral's INT8 model, is refused at once: test_quantize_api). Each job ends done with a ready INT8 model that names its parent, and the figures it measured on
the held-out frames. A corrupt parent and a cancel end the job with nothing left behind.

The worker sees the test's rows as in tests/controlplane/registry/test_models_celery.py (a database file,
``transaction=True``). Short runs: 24 calibration frames and 8 held out, one second of timing per model.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from controlplane.quantization.models import QuantizationJob
from controlplane.registry.actions import model_create
from controlplane.registry.models import InferenceModel
from controlplane.streams.actions import stream_create
from harness.processes import wait_until
from tests.controlplane.quantization.frames import face_pictures, png_of, push_results
from tests.controlplane.registry.model_support import stored_files
from tests.support import celery_worker as real_celery_worker
from tests.support import jpeg_of, vtest_jpegs

pytestmark = pytest.mark.django_db(transaction=True)

JOBS = "/api/quantizations/"
ENDED = ("done", "failed", "cancelled")


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def worker_tmp(tmp_path) -> Path:
    """The Celery worker's temporary folder, to see that a job leaves nothing there."""
    folder = tmp_path / "worker-tmp"
    folder.mkdir()
    return folder


@pytest.fixture
def celery_worker(redis_url, media, worker_tmp, tmp_path):
    with real_celery_worker(
        redis_url, tmp_path / "celery.log", media, TMPDIR=str(worker_tmp),
        EI_QUANTIZATION_MEASURE_SECONDS="1", EI_QUANTIZATION_IDLE_SECONDS="60",
    ) as worker:
        yield worker


def ready(builtin: str) -> InferenceModel:
    """A built-in model as its validation leaves it (the registry's tests validate them). A transactional test
    empties the tables the migrations filled, so the row is made again from the migration's own list."""
    builtins = importlib.import_module("controlplane.inference.migrations.0002_builtin_models").BUILTINS
    fields = next(fields for fields in builtins if fields["builtin"] == builtin)
    model, _ = InferenceModel.objects.get_or_create(builtin=builtin, defaults={**fields, "precision": "FP32"})
    InferenceModel.objects.filter(pk=model.pk).update(status=InferenceModel.Status.READY)
    model.refresh_from_db()
    return model


def ended(api, job_id: int, worker, timeout: float = 240) -> dict:
    def state():
        job = api.get(f"{JOBS}{job_id}/").json()
        return job if job["state"] in ENDED else None

    job = wait_until(state, timeout, f"quantization {job_id} to end")
    assert job, worker.output()
    return job


def assert_derived(api, job: dict, parent: InferenceModel, media: Path, source: str) -> dict:
    """The job's model: ready, INT8, naming its parent and calibration, its files stored, its figures measured."""
    model = api.get(f"/api/models/{job['result']}/").json()
    assert (model["status"], model["precision"], model["framework"]) == ("ready", "INT8", "ir"), model["status_message"]
    assert (model["name"], model["version"]) == (f"{parent.name}-int8", f"{parent.version}-q{job['id']}")
    assert job["result_name"] == f"{model['name']}:{model['version']}"
    assert (model["derived_from"], model["task"], model["labels"]) == (parent.pk, parent.task, parent.labels)
    assert model["output_family"] == parent.output_family
    assert model["calibration"] == {"source": source, "frames": job["frame_count"]}
    folder = f"models/{model['name']}/{model['version']}"
    assert stored_files(media) == [f"{folder}/{parent.name}-int8.bin", f"{folder}/{parent.name}-int8.xml"]
    assert model["measured_fps"] > 0 and model["file_sha256"] and model["weights_sha256"]
    agreement = model["agreement"]
    assert set(agreement) == {"precision", "recall", "f1", "mean_score_shift", "frames", "fp32_fps", "int8_fps"}
    assert agreement["frames"] == job["holdout"]
    assert all(0.0 <= agreement[figure] <= 1.0 for figure in ("precision", "recall", "f1")), agreement
    assert agreement["fp32_fps"] > 0 and agreement["int8_fps"] > 0
    assert model["speedup"] == pytest.approx(agreement["int8_fps"] / agreement["fp32_fps"], rel=0.02)
    assert model["speedup"] > 0
    return model


def note(name: str, model: dict) -> None:
    """What was measured, for who runs this with ``-s``."""
    print(f"\n{name}: speedup {model['speedup']}, agreement {json.dumps(model['agreement'])}")


def test_people_is_quantized_on_a_streams_results_and_measured_against_its_parent(
    api, celery_worker, media, worker_tmp, r
):
    people = ready("builtin:people")
    stream_create(name="street", source_kind="external", queue="people", extra_queues=["face"])
    frames = vtest_jpegs(32, every=4)
    push_results(r, "street", frames[:20], queues=("people", "face"))  # each frame twice, once per queue

    started = api.post(f"/api/models/{people.pk}/quantize/", {"stream": "street", "frames": 24}, format="json")
    assert started.status_code == 202, started.content
    job_id = started.json()["id"]

    def waiting():
        job = api.get(f"{JOBS}{job_id}/").json()
        return job if job["state"] == "collecting" and job["collected"] == 20 else None

    job = wait_until(waiting, 60, "the job to collect what is there and wait for more")
    assert job and 0 < job["progress"] < 0.6 and job["message"] == "collecting frames: 20 of 32", celery_worker.output()
    push_results(r, "street", frames[20:], queues=("people", "face"), first_seq=20)

    job = ended(api, job_id, celery_worker)
    assert job["state"] == "done", f"{job['message']}\n{celery_worker.output()}"
    assert (job["collected"], job["progress"], job["frame_count"], job["holdout"]) == (32, 1.0, 24, 8)
    model = assert_derived(api, job, people, media, "stream:street")
    # Pedestrians in every frame of the street: the INT8 model finds most of what its parent finds.
    assert model["agreement"]["f1"] >= 0.6 and model["agreement"]["mean_score_shift"] is not None
    assert f"F1 {model['agreement']['f1']:.2f} on 8 held-out frames" in job["message"]
    assert list(worker_tmp.iterdir()) == [], "no temporary file left"
    note(people.name, model)


def test_face_is_quantized_on_uploaded_pictures(api, celery_worker, media, worker_tmp):
    face = ready("builtin:face")
    pictures = face_pictures(32)
    images = [
        SimpleUploadedFile(f"face-{index}.png", png_of(picture)) if index % 3 == 0
        else SimpleUploadedFile(f"face-{index}.jpg", jpeg_of(picture))
        for index, picture in enumerate(pictures)
    ]
    started = api.post(f"/api/models/{face.pk}/quantize/", {"images": images, "frames": 24}, format="multipart")
    assert started.status_code == 202, started.content

    job = ended(api, started.json()["id"], celery_worker)
    assert job["state"] == "done", f"{job['message']}\n{celery_worker.output()}"
    assert (job["source"], job["image_count"]) == ("images", 0), "the images are deleted when the job ends"
    model = assert_derived(api, job, face, media, "images")  # its files only: no image left in the media
    assert model["agreement"]["mean_score_shift"] is not None, "her face is found in the held-out pictures"
    assert list(worker_tmp.iterdir()) == []
    note("face", model)


def test_a_corrupt_parent_fails_with_the_reason_and_leaves_nothing(api, celery_worker, media, worker_tmp):
    broken = model_create(
        name="broken", file=SimpleUploadedFile("broken.onnx", b"\x08\x08" + b"\xde\xad\xbe\xef" * 64),
        labels=["background", "thing"], queue_validation=False,
    )
    InferenceModel.objects.filter(pk=broken.pk).update(status=InferenceModel.Status.READY)  # as if it had passed
    before = stored_files(media)
    images = [SimpleUploadedFile(f"face-{index}.jpg", jpeg_of(picture)) for index, picture in enumerate(face_pictures(16))]
    started = api.post(f"/api/models/{broken.pk}/quantize/", {"images": images}, format="multipart")
    assert started.status_code == 202, started.content

    job = ended(api, started.json()["id"], celery_worker)
    assert job["state"] == "failed", celery_worker.output()
    assert job["message"].startswith("model broken:1: OpenVINO cannot read model broken.onnx: the file is corrupt"), job
    assert str(media) not in job["message"], "the file is named as uploaded, not by its path on the server"
    assert job["result"] is None
    assert list(InferenceModel.objects.filter(builtin="").values_list("name", flat=True)) == ["broken"], "no new model"
    assert stored_files(media) == before, "the images are deleted, nothing else is stored"
    assert list(worker_tmp.iterdir()) == []


def test_a_job_cancelled_while_it_collects_ends_cancelled_with_nothing_left(api, celery_worker, media, r):
    people = ready("builtin:people")
    stream_create(name="slow", source_kind="external", queue="people")
    push_results(r, "slow", vtest_jpegs(5, every=4))
    job_id = api.post(f"/api/models/{people.pk}/quantize/", {"stream": "slow", "frames": 8}, format="json").json()["id"]
    job = wait_until(
        lambda: (job := api.get(f"{JOBS}{job_id}/").json())["collected"] == 5 and job, 60, "five frames collected"
    )
    assert job and job["state"] == "collecting", celery_worker.output()

    cancelling = api.post(f"{JOBS}{job_id}/cancel/").json()
    assert (cancelling["state"], cancelling["cancel_requested"]) == ("collecting", True)
    job = ended(api, job_id, celery_worker, timeout=10)
    assert (job["state"], job["result"]) == ("cancelled", None), job
    assert job["message"] == "cancelled; what it had made is deleted"
    assert InferenceModel.objects.filter(derived_from__isnull=False).count() == 0
    assert stored_files(media) == []
    assert QuantizationJob.objects.get(pk=job_id).finished is not None
