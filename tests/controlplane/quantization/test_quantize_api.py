"""POST /api/models/<id>/quantize/ and /api/quantizations/: who may, what is refused at once (with the field
named), what a job looks like, and cancelling one. No Celery worker runs here: a job stays queued (the
end-to-end runs are in test_quantization_celery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from controlplane.quantization.models import QuantizationJob
from controlplane.registry.models import InferenceModel
from controlplane.streams.actions import stream_create
from tests.controlplane.quantization.frames import face_pictures, png_of
from tests.controlplane.records import error, field_errors
from tests.controlplane.registry.model_support import stored_files
from tests.support import jpeg_of

pytestmark = pytest.mark.django_db

JOBS = "/api/quantizations/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def people() -> InferenceModel:
    """The built-in FP32 people detector, ready (as its validation would leave it)."""
    model = InferenceModel.objects.get(builtin="builtin:people")
    InferenceModel.objects.filter(pk=model.pk).update(status=InferenceModel.Status.READY)
    model.refresh_from_db()
    return model


@pytest.fixture
def street(db):
    return stream_create(name="street", source_kind="external", queue="people")


def quantize_url(model: InferenceModel | int) -> str:
    return f"/api/models/{getattr(model, 'pk', model)}/quantize/"


def images(count: int, *, kind: str = "jpeg") -> list[SimpleUploadedFile]:
    encode = {"jpeg": (jpeg_of, ".jpg"), "png": (png_of, ".png")}[kind]
    return [
        SimpleUploadedFile(f"face-{index}{encode[1]}", encode[0](picture), content_type="image/jpeg")
        for index, picture in enumerate(face_pictures(count))
    ]


def test_a_stream_job_is_queued_with_its_frames_and_held_out_share(api, people, street):
    response = api.post(quantize_url(people), {"stream": "street", "frames": 40}, format="json")
    assert response.status_code == 202, response.content
    job = response.json()
    assert {k: job[k] for k in ("model", "model_name", "source", "stream", "frame_count", "holdout", "frames_needed",
                                "state", "collected", "progress", "result", "image_count")} == {
        "model": people.pk, "model_name": "people:1", "source": "stream:street", "stream": "street",
        "frame_count": 40, "holdout": 10, "frames_needed": 50, "state": "queued", "collected": 0, "progress": 0.0,
        "result": None, "image_count": 0,
    }
    assert api.get(f"{JOBS}{job['id']}/").json() == job
    default = api.post(quantize_url(people), {"stream": "street"}, format="json").json()
    assert (default["frame_count"], default["holdout"]) == (300, 75)


def test_images_are_kept_for_the_job_and_the_frames_follow_from_how_many(api, people, media):
    response = api.post(quantize_url(people), {"images": images(10) + images(10, kind="png")}, format="multipart")
    assert response.status_code == 202, response.content
    job = response.json()
    # 20 images: 12 to calibrate on and 8 held out (at least 8 always are)
    assert (job["source"], job["stream"], job["frame_count"], job["holdout"], job["image_count"]) == (
        "images", None, 12, 8, 20
    )
    stored = stored_files(media)
    assert len(stored) == 20 and all(name.startswith("quantization/") for name in stored)
    asked = api.post(quantize_url(people), {"images": images(20), "frames": 8}, format="multipart").json()
    assert (asked["frame_count"], asked["holdout"], asked["image_count"]) == (8, 8, 16), "the first 16 are kept"


@pytest.mark.parametrize("payload, field, says", [
    ({"stream": "nowhere"}, "stream", "No stream named 'nowhere'"),
    ({"stream": "street", "frames": 7}, "frames", "greater than or equal to 8"),
    ({"stream": "street", "frames": 2001}, "frames", "less than or equal to 2000"),
    ({"stream": "street", "frames": "many"}, "frames", "valid integer"),
    ({}, "stream", "required"),
])
def test_a_bad_stream_request_is_refused_with_the_field_named(api, people, street, payload, field, says):
    fields = field_errors(api.post(quantize_url(people), payload, format="json"))
    assert says in " ".join(fields[field]), fields
    assert not QuantizationJob.objects.exists()


def test_bad_images_are_refused_with_the_file_named_and_nothing_is_stored(api, people, media):
    not_a_picture = SimpleUploadedFile("notes.jpg", b"these are words, not pixels", content_type="image/jpeg")
    fields = field_errors(api.post(quantize_url(people), {"images": images(15) + [not_a_picture]}, format="multipart"))
    assert fields["images"] == ["notes.jpg is not a JPEG, PNG, BMP, WebP or TIFF image."]
    fields = field_errors(api.post(quantize_url(people), {"images": images(15)}, format="multipart"))
    assert "15 images are too few: send at least 16" in fields["images"][0]
    fields = field_errors(api.post(quantize_url(people), {"images": images(20), "frames": 40}, format="multipart"))
    assert "send at least 50 (40 to calibrate on and 10 held out" in fields["images"][0]
    fields = field_errors(api.post(quantize_url(people), {"images": images(16), "stream": "street"}, format="multipart"))
    assert "stream" in fields
    assert stored_files(media) == [] and not QuantizationJob.objects.exists()


def test_builtin_vehicles_is_refused_it_is_int8_already(api, street):
    vehicles = InferenceModel.objects.get(builtin="builtin:vehicles")
    InferenceModel.objects.filter(pk=vehicles.pk).update(status=InferenceModel.Status.READY)
    fields = field_errors(api.post(quantize_url(vehicles), {"stream": "street"}, format="json"))
    assert fields["model"] == [
        "Model vehicles:1 is INT8 already (quantized): there is nothing to quantize; quantize an FP32 model instead."
    ]
    assert not QuantizationJob.objects.exists()


def test_an_int8_model_is_refused_it_is_quantized_already(api, people, street):
    int8 = InferenceModel.objects.create(
        name="people-int8", version="1-q1", framework="ir", precision="INT8", status="ready", derived_from=people,
    )
    for payload, encoding in (({"stream": "street"}, "json"), ({"images": images(16)}, "multipart")):
        fields = field_errors(api.post(quantize_url(int8), payload, format=encoding))
        assert fields["model"] == [
            "Model people-int8:1-q1 is INT8 already (quantized): there is nothing to quantize; "
            "quantize an FP32 model instead."
        ]
    assert not QuantizationJob.objects.exists()


def test_a_model_that_is_not_ready_is_refused_and_an_unknown_one_is_not_found(api, street):
    face = InferenceModel.objects.get(builtin="builtin:face")
    InferenceModel.objects.filter(pk=face.pk).update(status=InferenceModel.Status.FAILED)
    fields = field_errors(api.post(quantize_url(face), {"stream": "street"}, format="json"))
    assert "is failed, not ready: only a model that passed validation can be quantized" in fields["model"][0]
    for unknown in (987654, "-1", "x"):
        assert error(api.post(quantize_url(unknown), {"stream": "street"}, format="json"), 404)["code"] == "not_found"


def test_writes_are_json_or_multipart_only(api, people, street):
    response = api.post(quantize_url(people), "stream=street", content_type="application/x-www-form-urlencoded")
    assert error(response, 415)["code"] == "unsupported_media_type"


def test_a_viewer_may_read_jobs_but_not_start_or_cancel_one_and_anonymous_may_do_neither(
    api, viewer_api, anonymous_api, people, street
):
    job = api.post(quantize_url(people), {"stream": "street"}, format="json").json()
    assert viewer_api.get(JOBS).json()["results"][0]["id"] == job["id"]
    assert viewer_api.get(f"{JOBS}{job['id']}/").status_code == 200
    assert error(viewer_api.post(quantize_url(people), {"stream": "street"}, format="json"), 403)
    assert error(viewer_api.post(f"{JOBS}{job['id']}/cancel/"), 403)
    assert error(anonymous_api.get(JOBS), 401)
    assert error(anonymous_api.post(quantize_url(people), {"stream": "street"}, format="json"), 401)
    assert error(anonymous_api.post(f"{JOBS}{job['id']}/cancel/"), 401)
    assert QuantizationJob.objects.count() == 1
    assert QuantizationJob.objects.get().state == "queued"


def test_cancelling_a_queued_job_ends_it_and_deletes_its_images_and_an_ended_one_is_a_conflict(
    api, people, media, django_capture_on_commit_callbacks
):
    job = api.post(quantize_url(people), {"images": images(16)}, format="multipart").json()
    assert len(stored_files(media)) == 16
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = api.post(f"{JOBS}{job['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.content
    body = cancelled.json()
    assert (body["state"], body["cancel_requested"], body["message"]) == (
        "cancelled", True, "cancelled before it started"
    )
    assert body["finished"] and stored_files(media) == []
    again = error(api.post(f"{JOBS}{job['id']}/cancel/"), 409)
    assert again["message"] == f"Quantization {job['id']} has ended already (cancelled): there is nothing to cancel."
    assert error(api.post(f"{JOBS}987654/cancel/"), 404)


def test_a_running_job_is_asked_to_stop(api, people, street):
    job = api.post(quantize_url(people), {"stream": "street"}, format="json").json()
    QuantizationJob.objects.filter(pk=job["id"]).update(state="collecting")
    body = api.post(f"{JOBS}{job['id']}/cancel/").json()
    assert (body["state"], body["cancel_requested"], body["message"]) == (
        "collecting", True, "cancelling (collecting frames)"
    )


def test_jobs_are_listed_newest_first_and_filtered_by_model_and_state(api, people, street):
    face = InferenceModel.objects.get(builtin="builtin:face")
    InferenceModel.objects.filter(pk=face.pk).update(status=InferenceModel.Status.READY)
    first = api.post(quantize_url(people), {"stream": "street"}, format="json").json()
    second = api.post(quantize_url(face), {"stream": "street", "frames": 8}, format="json").json()
    api.post(f"{JOBS}{first['id']}/cancel/")

    def ids(query=""):
        response = api.get(f"{JOBS}{query}")
        assert response.status_code == 200, response.content
        return [job["id"] for job in response.json()["results"]]

    assert ids() == [second["id"], first["id"]]
    assert ids(f"?model={face.pk}") == [second["id"]]
    assert ids("?state=cancelled") == [first["id"]]
    assert ids(f"?model={people.pk}&state=queued") == []
    assert "state" in field_errors(api.get(f"{JOBS}?state=sleeping"))


def test_the_model_api_shows_what_a_model_was_derived_from_read_only(api, people):
    child = InferenceModel.objects.create(
        name="people-int8", version="1-q1", framework="ir", precision="INT8", status="ready", derived_from=people,
        calibration={"source": "stream:street", "frames": 24}, speedup=1.62,
        agreement={"precision": 0.9, "recall": 0.95, "f1": 0.92, "mean_score_shift": -0.01, "frames": 8,
                   "fp32_fps": 50.0, "int8_fps": 81.0},
    )
    shown = api.get(f"/api/models/{child.pk}/").json()
    assert (shown["derived_from"], shown["calibration"], shown["speedup"], shown["agreement"]["f1"]) == (
        people.pk, {"source": "stream:street", "frames": 24}, 1.62, 0.92
    )
    assert api.get(f"/api/models/{people.pk}/").json()["agreement"] is None
    api.patch(f"/api/models/{child.pk}/", {"speedup": 9, "derived_from": None, "agreement": None}, format="json")
    child.refresh_from_db()
    assert (child.speedup, child.derived_from_id, child.agreement["f1"]) == (1.62, people.pk, 0.92)


def test_hundreds_of_pictures_are_taken_in_one_request(api, people, media):
    small = jpeg_of(face_pictures(1)[0][::8, ::8].copy())
    many = [SimpleUploadedFile(f"p{index}.jpg", small, content_type="image/jpeg") for index in range(375)]
    response = api.post(quantize_url(people), {"images": many}, format="multipart")
    assert response.status_code == 202, response.content
    assert (response.json()["frame_count"], response.json()["holdout"]) == (300, 75)
    assert len(stored_files(media)) == 375
