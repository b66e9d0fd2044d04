"""Inference service records over HTTP."""

import functools

from controlplane.core.api import NamedRecordViewSet
from controlplane.inference.actions import SERVICE_WRITES
from controlplane.inference.scaling_view import live_heartbeats
from controlplane.inference.selectors import inference_service_list
from controlplane.inference.serializers import InferenceServiceSerializer


class InferenceServiceViewSet(NamedRecordViewSet):
    """Worker pools, one per frame queue, addressed by name: ``/api/services/<name>/``."""

    writes = SERVICE_WRITES
    serializer_class = InferenceServiceSerializer
    filterset_fields = ["queue", "status", "enabled", "model"]

    def get_queryset(self):
        return inference_service_list()

    def get_serializer_context(self):
        """Every row's ``scaling`` reads the heartbeats: once per request, and only if a row is shown."""
        return {**super().get_serializer_context(), "heartbeats": functools.cache(live_heartbeats)}
