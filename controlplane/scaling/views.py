"""Scaling policy records over HTTP."""

from rest_framework import viewsets

from controlplane.names import wire_name_in_url
from controlplane.scaling import services
from controlplane.scaling.selectors import policy_list
from controlplane.scaling.serializers import PolicySerializer


class PolicyViewSet(viewsets.ModelViewSet):
    """How inference services scale, addressed by name: ``/api/policies/<name>/``."""

    serializer_class = PolicySerializer
    filterset_fields = ["metric"]
    search_fields = ["name"]
    ordering_fields = ["name", "created"]
    lookup_field = "name"
    lookup_value_regex = wire_name_in_url

    def get_queryset(self):
        return policy_list()

    def perform_create(self, serializer):
        serializer.instance = services.policy_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.policy_update(policy=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.policy_delete(policy=instance)
