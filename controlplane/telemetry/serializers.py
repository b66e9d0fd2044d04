"""Shapes of the telemetry API: the query it accepts and the figures it returns (and documents)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from rest_framework import serializers

from controlplane.core.names import wire_name
from inference_worker.protocol import HEARTBEAT_TYPES, Heartbeat


class WorkerQuerySerializer(serializers.Serializer):
    queue = serializers.CharField(required=False, validators=[wire_name], help_text="Only the workers of this frame queue.")


class EpochDateTimeField(serializers.DateTimeField):
    """Heartbeats carry seconds since the epoch; the API speaks ISO 8601 like its other timestamps."""

    def to_representation(self, value):
        return super().to_representation(datetime.fromtimestamp(value, UTC))


_FIELD_KINDS = {str: serializers.CharField, int: serializers.IntegerField, float: serializers.FloatField}


def _heartbeat_field(spec: dataclasses.Field) -> serializers.Field:
    """The API field of a heartbeat field: its type and meaning from ``protocol.Heartbeat``."""
    kind = EpochDateTimeField if spec.metadata["epoch"] else _FIELD_KINDS[HEARTBEAT_TYPES[spec.name]]
    return kind(help_text=spec.metadata["doc"])


class FleetWorkerSerializer(serializers.Serializer):
    """A live worker: every field of its heartbeat (``protocol.Heartbeat``, the one definition), then its service."""

    service = serializers.CharField(allow_null=True, help_text="The inference service serving this queue, if any.")

    def get_fields(self) -> dict[str, serializers.Field]:
        heartbeat = {spec.name: _heartbeat_field(spec) for spec in dataclasses.fields(Heartbeat)}
        return {**heartbeat, **super().get_fields()}


class ServiceMetricsSerializer(serializers.Serializer):
    name = serializers.CharField()
    queue = serializers.CharField()
    replicas = serializers.IntegerField(help_text="Live workers on the queue.")
    infer_fps = serializers.FloatField(help_text="Sum over the workers.")
    drop_fps = serializers.FloatField(help_text="Sum over the workers.")
    scale_ratio = serializers.FloatField(help_text="Mean over the workers; 0 with none.")
    latency_p50_ms = serializers.FloatField(allow_null=True, help_text="The highest worker median; null with no worker.")
    latency_p99_ms = serializers.FloatField(allow_null=True, help_text="The highest worker p99; null with no worker.")


class StreamMetricsSerializer(serializers.Serializer):
    name = serializers.CharField()
    queues = serializers.ListField(child=serializers.CharField(), help_text="Queues the stream feeds, as far as known.")
    input_fps = serializers.FloatField(allow_null=True, help_text="Frames per second entering; null until known.")
    input_fps_source = serializers.ChoiceField(
        choices=["producer", "counters"], allow_null=True,
        help_text="producer: its heartbeat; counters: estimated from the growth of produced between reads.",
    )
    produced = serializers.IntegerField(help_text="Frames pushed, one per queue.")
    inferred = serializers.IntegerField()
    expired = serializers.IntegerField(help_text="Older than the workers' max age when popped.")
    rejected = serializers.IntegerField(help_text="Unusable frames.")
    queued = serializers.IntegerField(help_text="Frames waiting in the queues now.")
    overflow = serializers.IntegerField(
        help_text="Evicted from full queues: produced - inferred - expired - rejected - queued, at least 0."
    )
    latency_p50_ms = serializers.FloatField(
        allow_null=True, help_text="Capture to result, median over the latest results; null with none."
    )


class FleetMetricsSerializer(serializers.Serializer):
    services = ServiceMetricsSerializer(many=True)
    streams = StreamMetricsSerializer(many=True)


class HistoryQuerySerializer(serializers.Serializer):
    minutes = serializers.IntegerField(
        required=False, default=10, min_value=1, max_value=30, help_text="How far back, in minutes."
    )


class HistorySampleSerializer(serializers.Serializer):
    t = serializers.FloatField(help_text="When it was taken, in seconds since the epoch.")
    replicas = serializers.IntegerField(help_text="Live workers on the queue.")
    infer_fps = serializers.FloatField(help_text="Sum over the workers.")
    drop_fps = serializers.FloatField(help_text="Sum over the workers.")
    scale_ratio = serializers.FloatField(help_text="Mean over the workers; 0 with none.")


class ServiceHistorySerializer(serializers.Serializer):
    service = serializers.CharField()
    interval_seconds = serializers.IntegerField(help_text="Seconds between samples; missed beats leave gaps.")
    samples = HistorySampleSerializer(many=True, help_text="Oldest first.")
