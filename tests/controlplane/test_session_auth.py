"""The dashboard's session login, as a browser does it: CSRF cookie from me/, token sent back in a header."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from rest_framework.test import APIClient

LOGIN, LOGOUT, ME = "/api/auth/login/", "/api/auth/logout/", "/api/auth/me/"
STREAMS = "/api/streams/"
RECORDS = ("streams", "services", "policies", "models")


def permissions(**allowed: set[str]) -> dict:
    """The me/ permissions with ``allowed`` actions per record, everything else false."""
    return {
        record: {action: action in allowed.get(record, set()) for action in ("add", "change", "delete")}
        for record in RECORDS
    }


NONE = permissions()
ALL = permissions(**{record: {"add", "change", "delete"} for record in RECORDS})


@pytest.fixture(autouse=True)
def fresh_throttle():
    """Login throttling counts in the cache, per client address: every test starts, and leaves, at zero."""
    cache.clear()
    yield
    cache.clear()


def browser() -> APIClient:
    """A client that is checked for CSRF like a browser is, holding cookies between requests."""
    return APIClient(enforce_csrf_checks=True)


def csrf_token(client: APIClient) -> str:
    return client.cookies["csrftoken"].value


def me(client: APIClient) -> dict:
    response = client.get(ME)
    assert response.status_code == 200, response.content
    return response.json()


def log_in(client: APIClient, username: str, password: str):
    me(client)  # the SPA's first request, which hands out the CSRF cookie
    return client.post(LOGIN, {"username": username, "password": password}, format="json",
                       HTTP_X_CSRFTOKEN=csrf_token(client))


def test_a_login_opens_a_session_for_reads_and_for_writes_that_carry_the_csrf_token(operator):
    client = browser()
    assert me(client) == {"username": "", "authenticated": False, "anonymous_read": False, "permissions": NONE}
    assert client.get(STREAMS).status_code in (401, 403)
    anonymous_token = csrf_token(client)

    response = log_in(client, "operator", "operator-pass-123")
    assert response.status_code == 200, response.content
    assert response.json() == {"username": "operator", "authenticated": True, "anonymous_read": False,
                               "permissions": ALL}
    assert client.cookies["sessionid"].value
    assert csrf_token(client) != anonymous_token, "a login rotates the CSRF token"

    assert client.get(STREAMS).status_code == 200
    stream = {"name": "porch", "source_kind": "external", "queue": "face"}
    refused = client.post(STREAMS, stream, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    assert client.post(STREAMS, stream, format="json", HTTP_X_CSRFTOKEN=anonymous_token).status_code == 403
    assert client.post(STREAMS, stream, format="json", HTTP_X_CSRFTOKEN=csrf_token(client)).status_code == 201
    assert me(client)["username"] == "operator"


def test_bad_credentials_are_a_400_in_the_error_shape_and_open_no_session(viewer):
    User.objects.create_user("gone", password="gone-pass-123", is_active=False)
    client = browser()
    for credentials in ({"username": "viewer", "password": "wrong"}, {"username": "nobody", "password": "x"},
                        {"username": "gone", "password": "gone-pass-123"}):
        response = log_in(client, **credentials)
        assert response.status_code == 400, credentials
        error = response.json()["error"]
        assert (error["status"], error["code"]) == (400, "invalid")
        assert error["fields"] == {"non_field_errors": ["Unable to log in with provided credentials."]}
    missing = client.post(LOGIN, {"username": "viewer"}, format="json", HTTP_X_CSRFTOKEN=csrf_token(client))
    assert missing.status_code == 400 and set(missing.json()["error"]["fields"]) == {"password"}
    assert "sessionid" not in client.cookies
    assert me(client)["authenticated"] is False


def test_a_login_without_the_csrf_token_is_refused(viewer):
    client = browser()
    credentials = {"username": "viewer", "password": "viewer-pass-123"}
    no_cookie = client.post(LOGIN, credentials, format="json")
    me(client)
    no_header = client.post(LOGIN, credentials, format="json")
    wrong_header = client.post(LOGIN, credentials, format="json", HTTP_X_CSRFTOKEN="x" * 32)
    for response in (no_cookie, no_header, wrong_header):
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["status"] == 403 and error["message"].startswith("CSRF Failed")
    assert me(client)["authenticated"] is False


def test_logins_are_throttled_per_client(viewer):
    client = browser()
    for _ in range(20):  # the "auth" rate: 20 a minute
        assert log_in(client, "viewer", "wrong").status_code == 400
    throttled = log_in(client, "viewer", "viewer-pass-123")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled" and int(throttled["Retry-After"]) > 0
    assert me(client)["authenticated"] is False


def test_a_forwarded_for_header_of_the_clients_own_does_not_escape_the_throttle(viewer, settings):
    client = browser()
    me(client)

    def attempt(address: str):
        return client.post(LOGIN, {"username": "viewer", "password": "wrong"}, format="json",
                           HTTP_X_CSRFTOKEN=csrf_token(client), HTTP_X_FORWARDED_FOR=address)

    assert [attempt(f"10.0.0.{n}").status_code for n in range(21)] == [400] * 20 + [429]


def test_logging_in_again_replaces_the_session(viewer, operator):
    client = browser()
    assert log_in(client, "viewer", "viewer-pass-123").status_code == 200
    first_session = client.cookies["sessionid"].value
    assert log_in(client, "operator", "operator-pass-123").status_code == 200
    assert client.cookies["sessionid"].value != first_session
    assert me(client)["username"] == "operator"

    stale = browser()
    stale.cookies["sessionid"] = first_session
    assert me(stale)["authenticated"] is False, "the old session key no longer logs anyone in"


def test_logout_ends_the_session(viewer):
    client = browser()
    assert log_in(client, "viewer", "viewer-pass-123").status_code == 200
    session = client.cookies["sessionid"].value

    assert client.post(LOGOUT).status_code == 403, "logging out a session needs the CSRF token too"
    assert me(client)["authenticated"] is True
    assert client.post(LOGOUT, HTTP_X_CSRFTOKEN=csrf_token(client)).status_code == 204

    assert me(client)["authenticated"] is False
    assert client.get(STREAMS).status_code in (401, 403)
    replayed = browser()
    replayed.cookies["sessionid"] = session
    assert me(replayed)["authenticated"] is False


def test_me_tells_each_user_what_they_may_change(viewer, operator, admin_user):
    editor = User.objects.create_user("editor", password="editor-pass-123")
    editor.user_permissions.set(Permission.objects.filter(
        content_type__app_label__in=("registry", "inference", "scaling"),
        codename__in=("change_inferenceservice", "change_scalingpolicy", "add_inferencemodel"),
    ))
    expected = {
        ("viewer", "viewer-pass-123"): NONE,
        ("operator", "operator-pass-123"): ALL,
        ("admin", "admin-pass-123"): ALL,
        ("editor", "editor-pass-123"): permissions(services={"change"}, policies={"change"}, models={"add"}),
    }
    for (username, password), allowed in expected.items():
        client = browser()
        assert log_in(client, username, password).status_code == 200
        assert me(client) == {"username": username, "authenticated": True, "anonymous_read": False,
                              "permissions": allowed}


def test_me_says_whether_visitors_may_read(settings, viewer):
    settings.EI_ANONYMOUS_READ = True
    client = browser()
    assert me(client) == {"username": "", "authenticated": False, "anonymous_read": True, "permissions": NONE}
    assert client.get(STREAMS).status_code == 200
    assert log_in(client, "viewer", "viewer-pass-123").json()["anonymous_read"] is True
