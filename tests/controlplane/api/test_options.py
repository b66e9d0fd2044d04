"""OPTIONS names every choice field's values and labels to anyone who may read, so read-only pages label
stored values as the forms do; what a write takes (``actions``) stays for who may write."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_viewer_gets_the_choices_and_no_actions(viewer_api):
    body = viewer_api.options("/api/policies/").json()
    assert {"value": "scale_ratio", "display_name": "Scale ratio (workers needed per worker)"} in body["choices"]["metric"]
    assert "actions" not in body
    families = {choice["value"] for choice in viewer_api.options("/api/models/").json()["choices"]["output_family"]}
    assert {"auto", "ssd", "tf_od", "blazeface", "yolo"} <= families


def test_related_fields_are_not_listed_as_choices(api):
    body = api.options("/api/services/").json()
    assert "device" in body["choices"] and "model" not in body["choices"] and "scaling_policy" not in body["choices"]
    assert "POST" in body["actions"]


def test_anonymous_gets_nothing_without_anonymous_read(anonymous_api):
    assert anonymous_api.options("/api/policies/").status_code in (401, 403)
