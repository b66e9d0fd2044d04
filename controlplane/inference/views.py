"""Inference service records over HTTP."""

from rest_framework import viewsets

from controlplane.inference import actions
from controlplane.inference.selectors import inference_service_list
from controlplane.inference.serializers import InferenceServiceSerializer
from controlplane.core.names import wire_name_in_url


class InferenceServiceViewSet(viewsets.ModelViewSet):
    """Worker pools, one per frame queue, addressed by name: ``/api/services/<name>/``."""

    serializer_class = InferenceServiceSerializer
    filterset_fields = ["queue", "status", "enabled", "model"]
    search_fields = ["name"]
    ordering_fields = ["name", "created"]
    lookup_field = "name"
    lookup_value_regex = wire_name_in_url

    def get_queryset(self):
        return inference_service_list()

    def perform_create(self, serializer):
        serializer.instance = actions.inference_service_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = actions.inference_service_update(
            service=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        actions.inference_service_delete(service=instance)
