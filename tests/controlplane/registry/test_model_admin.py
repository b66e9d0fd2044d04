"""The model registry in the admin: the list, editing through the services, and "validate again"."""

from __future__ import annotations

import pytest

from controlplane.registry.models import InferenceModel

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/registry/inferencemodel/"


def test_the_list_shows_the_models_and_uploads_are_left_to_the_api(admin_client):
    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Measured fps" in text and ">face<" in text and ">people<" in text
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


def test_validate_again_queues_the_selected_models(admin_client, django_capture_on_commit_callbacks):
    InferenceModel.objects.update(status=InferenceModel.Status.FAILED, status_message="old news")
    with django_capture_on_commit_callbacks() as queued:
        page = admin_client.post(
            CHANGELIST, {"action": "validate_again", "_selected_action": [*InferenceModel.objects.values_list("pk", flat=True)]},
            follow=True,
        )
    assert "Queued validation of 3 inference models." in page.content.decode()
    assert len(queued) == 3
    assert set(InferenceModel.objects.values_list("status", "status_message")) == {("pending", "")}


def test_a_new_output_family_set_in_the_admin_is_validated_again(admin_client, django_capture_on_commit_callbacks):
    face = InferenceModel.objects.get(name="face")
    InferenceModel.objects.filter(pk=face.pk).update(status=InferenceModel.Status.READY)
    form = {
        "name": "face", "version": "1", "task": "face", "labels": '["face"]', "precision": "FP32",
        "output_family": "auto",
    }
    with django_capture_on_commit_callbacks() as queued:
        page = admin_client.post(f"{CHANGELIST}{face.pk}/change/", form, follow=True)
    assert page.status_code == 200 and len(queued) == 1
    face.refresh_from_db()
    assert (face.output_family, face.status) == ("auto", "pending")

    with django_capture_on_commit_callbacks() as queued:
        admin_client.post(f"{CHANGELIST}{face.pk}/change/", {**form, "task": "faces"}, follow=True)
    assert queued == [], "a new task is no reason to validate again"
    assert InferenceModel.objects.get(pk=face.pk).task == "faces"
