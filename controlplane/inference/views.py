"""Inference service records over HTTP."""

from controlplane.core.api import NamedRecordViewSet
from controlplane.inference.actions import SERVICE_WRITES
from controlplane.inference.selectors import inference_service_list
from controlplane.inference.serializers import InferenceServiceSerializer


class InferenceServiceViewSet(NamedRecordViewSet):
    """Worker pools, one per frame queue, addressed by name: ``/api/services/<name>/``."""

    writes = SERVICE_WRITES
    serializer_class = InferenceServiceSerializer
    filterset_fields = ["queue", "status", "enabled", "model"]

    def get_queryset(self):
        return inference_service_list()
