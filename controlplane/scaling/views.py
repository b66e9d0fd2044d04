"""Scaling policy records over HTTP."""

from datetime import timezone as dt_timezone

import django_filters
from rest_framework import viewsets

from controlplane.core.names import wire_name_in_url
from controlplane.scaling import actions
from controlplane.scaling.models import ScalingEvent
from controlplane.scaling.selectors import policy_list, scaling_event_list
from controlplane.scaling.serializers import PolicySerializer, ScalingEventSerializer


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
        serializer.instance = actions.policy_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = actions.policy_update(policy=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        actions.policy_delete(policy=instance)


class ScalingEventFilter(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service_name")
    since = django_filters.IsoDateTimeFilter(method="filter_since")

    class Meta:
        model = ScalingEvent
        fields = ["service", "backend", "since"]

    def filter_since(self, queryset, name, value):
        # In UTC: PostgreSQL refuses offsets beyond its range (e.g. +21:51) that ISO 8601 allows.
        return queryset.filter(time__gte=value.astimezone(dt_timezone.utc))


class ScalingEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Every scaling step, newest first: ``?service=<name>&since=<ISO time>``."""

    serializer_class = ScalingEventSerializer
    filterset_class = ScalingEventFilter
    ordering_fields = ["time"]

    def get_queryset(self):
        return scaling_event_list()
