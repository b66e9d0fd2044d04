"""Scaling policy records over HTTP."""

from datetime import timezone as dt_timezone

import django_filters
from rest_framework import viewsets

from controlplane.core.api import NamedRecordViewSet
from controlplane.scaling.actions import POLICY_WRITES
from controlplane.scaling.models import ScalingEvent
from controlplane.scaling.selectors import policy_list, scaling_event_list
from controlplane.scaling.serializers import PolicySerializer, ScalingEventSerializer


class PolicyViewSet(NamedRecordViewSet):
    """How inference services scale, addressed by name: ``/api/policies/<name>/``."""

    writes = POLICY_WRITES
    serializer_class = PolicySerializer
    filterset_fields = ["metric"]

    def get_queryset(self):
        return policy_list()


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
