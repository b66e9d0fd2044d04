"""Users with different rights, and API clients logged in as them by token."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

WRITE_APPS = ("streams", "inference", "scaling")


@pytest.fixture
def operator(db) -> User:
    """May add, change and delete every record of the control plane."""
    user = User.objects.create_user("operator", password="operator-pass-123")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=WRITE_APPS))
    return user


@pytest.fixture
def viewer(db) -> User:
    """Logged in, but with no permissions: may read, not write."""
    return User.objects.create_user("viewer", password="viewer-pass-123")


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("admin", password="admin-pass-123")


def client_for(user: User | None) -> APIClient:
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
    return APIClient()
