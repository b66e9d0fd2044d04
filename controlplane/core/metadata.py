"""What ``OPTIONS`` answers: DRF's description of the writable fields (``actions``, for who may write), plus
``choices``, the values and labels of every choice field for anyone who may read, so a read-only page
labels a stored value as the form would (``scale_ratio`` as "Scale ratio (workers needed per worker)")."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.metadata import SimpleMetadata


class ChoicesForReaders(SimpleMetadata):
    def determine_metadata(self, request, view):
        metadata = super().determine_metadata(request, view)
        if hasattr(view, "get_serializer"):
            fields = view.get_serializer().fields
            metadata["choices"] = {
                name: [{"value": value, "display_name": str(label)} for value, label in field.choices.items()]
                for name, field in fields.items()
                # not related fields: their choices are whole tables
                if isinstance(field, serializers.ChoiceField)
            }
        return metadata
