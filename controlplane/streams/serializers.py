"""The stream record as the API shows and accepts it. Checks that span fields (does the source fit its
kind?) live in ``Stream.clean``, which the service functions run, so the admin enforces them too."""

from rest_framework import serializers

from controlplane.streams.models import Stream


class StreamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stream
        fields = [
            "name", "source_kind", "source", "queue", "target_fps", "enabled",
            "status", "status_message", "created", "updated",
        ]
        read_only_fields = ["status", "status_message", "created", "updated"]
