"""Streams in the admin, as a superuser uses it."""

from __future__ import annotations

import pytest

from controlplane.streams.models import Stream
from controlplane.streams.selectors import stream_get
from controlplane.streams.actions import stream_create

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/streams/stream/"
FORM = {"name": "street", "source_kind": "url", "source": "rtsp://cam/live", "queue": "people", "target_fps": 15,
        "enabled": "on"}


def test_changelist_filters_and_forms_render(admin_client):
    stream = stream_create(name="street", source_kind="camera", source="0", queue="face")
    listing = admin_client.get(CHANGELIST, {"status__exact": "pending", "q": "str"})
    assert listing.status_code == 200
    assert b"street" in listing.content
    change = admin_client.get(f"{CHANGELIST}{stream.pk}/change/")
    assert change.status_code == 200
    assert not {"status", "status_message"} & set(change.context["adminform"].form.fields)  # shown, not editable
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 200


def test_add_and_change_through_the_form(admin_client):
    added = admin_client.post(f"{CHANGELIST}add/", FORM)
    assert added.status_code == 302, added.content
    stream = stream_get(name="street")
    changed = admin_client.post(f"{CHANGELIST}{stream.pk}/change/", {**FORM, "target_fps": 5})
    assert changed.status_code == 302, changed.content
    assert stream_get(name="street").target_fps == 5


def test_a_source_that_does_not_fit_is_shown_on_the_form(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", {**FORM, "source_kind": "camera", "source": "rtsp://cam/live"})
    assert response.status_code == 200
    assert "source" in response.context["adminform"].form.errors
    assert not Stream.objects.exists()


def test_enable_and_disable_selected(admin_client):
    rows = [stream_create(name=name, source_kind="external", queue="face") for name in ("a", "b", "c")]
    picked = [rows[0].pk, rows[1].pk]
    response = admin_client.post(CHANGELIST, {"action": "disable", "_selected_action": picked}, follow=True)
    assert "Disabled 2 streams." in response.content.decode()
    assert dict(Stream.objects.values_list("name", "enabled")) == {"a": False, "b": False, "c": True}
    admin_client.post(CHANGELIST, {"action": "enable", "_selected_action": picked})
    assert Stream.objects.filter(enabled=False).count() == 0


def test_delete_selected(admin_client):
    stream = stream_create(name="a", source_kind="external", queue="face")
    response = admin_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [stream.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Stream.objects.exists()
