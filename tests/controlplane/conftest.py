"""Users with different rights, and API clients logged in as them by token."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported where used: `pytest tests/controlplane/...` loads this file before Django is set up
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

# The shared checks of the record APIs live outside test modules: pytest shows their values only if told.
pytest.register_assert_rewrite("tests.controlplane.record_api")

WRITE_APPS = ("streams", "registry", "inference", "scaling")


@pytest.fixture
def operator(db) -> User:
    """May add, change and delete every record of the control plane."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("operator", password="operator-pass-123")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=WRITE_APPS))
    return user


@pytest.fixture
def viewer(db) -> User:
    """Logged in, but with no permissions: may read, not write."""
    from django.contrib.auth.models import User

    return User.objects.create_user("viewer", password="viewer-pass-123")


@pytest.fixture
def admin_user(db) -> User:
    from django.contrib.auth.models import User

    return User.objects.create_superuser("admin", password="admin-pass-123")


def client_for(user: User | None) -> APIClient:
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(operator) -> APIClient:
    """A client with write rights, by token, as a script would be."""
    return client_for(operator)


@pytest.fixture
def viewer_api(viewer) -> APIClient:
    return client_for(viewer)


@pytest.fixture
def anonymous_api() -> APIClient:
    return client_for(None)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The default hasher takes a good part of a second per user on purpose; tests make many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
