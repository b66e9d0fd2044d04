"""The stream record as the API shows and accepts it. Checks that span fields (does the source fit its
kind?) live in ``Stream.clean``, which the service functions run, so the admin enforces them too."""

from rest_framework import serializers

from controlplane.streams.models import Stream
from inference_worker.protocol import NAME_RE


class StreamSerializer(serializers.ModelSerializer):
    extra_queues = serializers.ListField(
        child=serializers.RegexField(NAME_RE.pattern, max_length=64), required=False, max_length=16,
        help_text="Further queues the same frames go to (one producer feeds several inference types).",
    )

    class Meta:
        model = Stream
        fields = [
            "name", "source_kind", "source", "queue", "extra_queues", "target_fps", "enabled",
            "status", "status_message", "status_changed", "created", "updated",
        ]
        read_only_fields = ["status", "status_message", "status_changed", "created", "updated"]

