"""Backends make the fleet match the desired units: ``local`` (processes run by the supervisor) or
``kubernetes`` (Deployments and HPAs). Chosen by ``EI_BACKEND``."""

from __future__ import annotations

from django.conf import settings

from controlplane.orchestration.backends.base import Backend, BackendError, Observed

__all__ = ["Backend", "BackendError", "Observed", "get_backend"]


def get_backend() -> Backend:
    if settings.EI_BACKEND == "kubernetes":
        from controlplane.orchestration.backends.kubernetes import (
            KubernetesBackend,  # imports the client
        )

        return KubernetesBackend.from_settings()
    from controlplane.orchestration.backends.local import LocalBackend

    return LocalBackend.from_settings()
