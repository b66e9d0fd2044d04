"""Checks shared by the tests of the record APIs (streams, policies, services)."""

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


def field_errors(response) -> dict:
    """The per-field messages of a 400 in the project's error shape."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["status"] == 400
    return error["fields"]


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]
