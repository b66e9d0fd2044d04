"""Who may read and who may write through the API."""

from __future__ import annotations

from django.conf import settings
from rest_framework import permissions

# Members may download model files and read nothing else: the workers' token user, whose token every
# worker pod holds (``manage.py worker_token``). Stream sources, which may carry camera passwords, stay
# out of its reach.
MODEL_DOWNLOADERS = "model-downloaders"


def _downloaders_group(user):
    return user.groups.filter(name=MODEL_DOWNLOADERS)


def downloads_only(user) -> bool:
    """Whether ``user`` is limited to model files."""
    return _downloaders_group(user).exists()


async def adownloads_only(user) -> bool:
    """:func:`downloads_only` for async code (the websockets' authentication)."""
    return await _downloaders_group(user).aexists()


def _logged_in(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class ModelPermissionsOrReader(permissions.DjangoModelPermissions):
    """Writes need the model permission; reads need a logged-in user not limited to model files, or
    nobody when ``EI_ANONYMOUS_READ`` opens the dashboard read-only."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return settings.EI_ANONYMOUS_READ or (_logged_in(request) and not downloads_only(request.user))
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return bool(request.user and request.user.is_staff)
        return super().has_permission(request, view)


class ModelFileReader(permissions.BasePermission):
    """Model files: whoever may read, the model downloaders included; nobody writes."""

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS and (settings.EI_ANONYMOUS_READ or _logged_in(request))
