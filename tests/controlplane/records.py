"""Helpers for the tests of the record APIs (streams, models, services, policies): what a response says.

The checks every name-addressed record API shares are ``tests/controlplane/record_api.py:RecordAPIChecks``.
"""

from __future__ import annotations

from rest_framework.test import APIClient


def write_statuses(client: APIClient, collection: str, item: str, payload: dict) -> set[int]:
    """The statuses a create, a full update, a partial update and a delete get from ``client``."""
    return {
        client.post(collection, payload, format="json").status_code,
        client.put(item, payload, format="json").status_code,
        client.patch(item, payload, format="json").status_code,
        client.delete(item).status_code,
    }


def error(response, status: int) -> dict:
    """The body of an error response in the project's shape, ``{"error": {"status", "code", ...}}``."""
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["status"] == status and body["code"] and body["message"], body
    return body


def field_errors(response) -> dict:
    """The per-field messages of a 400 in the project's error shape."""
    return error(response, 400)["fields"]


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]
