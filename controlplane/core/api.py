"""The base of the API's record viewsets: a record addressed by its name, written through its actions."""

from __future__ import annotations

from rest_framework import viewsets

from controlplane.core.names import wire_name_in_url
from controlplane.core.records import RecordWrites


class NamedRecordViewSet(viewsets.ModelViewSet):
    """``/api/<records>/<name>/``; subclasses set ``writes``, the serializer, the queryset and the filters."""

    writes: RecordWrites
    lookup_field = "name"
    lookup_value_regex = wire_name_in_url
    search_fields = ["name"]
    ordering_fields = ["name", "created"]

    def perform_create(self, serializer):
        serializer.instance = self.writes.create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = self.writes.update_row(serializer.instance, serializer.validated_data)

    def perform_destroy(self, instance):
        self.writes.delete_row(instance)
