"""The scaling policy record as the API shows and accepts it. ``min_replicas <= max_replicas`` is checked by
``ScalingPolicy.clean``, which the service functions run, so it holds for partial updates and the admin."""

from rest_framework import serializers

from controlplane.core.names import wire_name
from controlplane.scaling.models import ScalingEvent, ScalingPolicy


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = ScalingPolicy
        fields = [
            "name", "min_replicas", "max_replicas", "metric", "target_value",
            "scale_up_window_seconds", "scale_down_window_seconds", "created", "updated",
        ]
        read_only_fields = ["created", "updated"]

    def validate_name(self, value: str) -> str:
        wire_name(value)  # a slug may start with '-' or '_'; a name in the fleet may not
        return value


class ScalingEventSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service_name")

    class Meta:
        model = ScalingEvent
        fields = [
            "id", "time", "service", "backend", "metric", "metric_value", "target_value",
            "from_replicas", "to_replicas", "reason",
        ]
