"""A stream's further queues: each once, never its own queue again, valid names; a PATCH replaces them."""

from __future__ import annotations

import pytest

from controlplane.streams.selectors import stream_get

pytestmark = pytest.mark.django_db

STREAMS = "/api/streams/"
STREET = {"name": "street", "source_kind": "external", "queue": "people"}


@pytest.mark.parametrize("extra, why", [
    (["face", "face"], "face appears more than once"),
    (["people"], "people is the stream's own queue"),
    (["face", "no spaces"], "does not match"),
])
def test_a_queue_named_twice_or_badly_is_a_400_naming_the_field(api, extra, why):
    response = api.post(STREAMS, {**STREET, "extra_queues": extra}, format="json")
    assert response.status_code == 400, response.content
    assert why in str(response.json()["error"]["fields"]["extra_queues"])
    assert api.get(f"{STREAMS}street/").status_code == 404


def test_a_patch_replaces_the_list(api):
    assert api.post(STREAMS, {**STREET, "extra_queues": ["face", "people2"]}, format="json").status_code == 201
    for extra in (["face", "people2"], ["car"], []):
        patched = api.patch(f"{STREAMS}street/", {"extra_queues": extra}, format="json")
        assert patched.status_code == 200, patched.content
        assert patched.json()["extra_queues"] == extra
        assert stream_get(name="street").queues == ["people", *extra]


def test_a_patch_of_the_queue_is_checked_against_the_stored_list(api):
    api.post(STREAMS, {**STREET, "extra_queues": ["face"]}, format="json")
    refused = api.patch(f"{STREAMS}street/", {"queue": "face"}, format="json")
    assert "extra_queues" in refused.json()["error"]["fields"]
    assert stream_get(name="street").queue == "people"
