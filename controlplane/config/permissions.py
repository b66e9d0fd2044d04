"""Who may read and who may write through the API."""

from __future__ import annotations

from django.conf import settings
from rest_framework import permissions


class ModelPermissionsOrReader(permissions.DjangoModelPermissions):
    """Writes need the model permission; reads need a logged-in user, or nobody when
    ``EI_ANONYMOUS_READ`` opens the dashboard read-only."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return bool(settings.EI_ANONYMOUS_READ or (request.user and request.user.is_authenticated))
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return bool(request.user and request.user.is_staff)
        return super().has_permission(request, view)
