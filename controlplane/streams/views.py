"""Stream records over HTTP, and the original demo's gateway listing."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.core.api import NamedRecordViewSet
from controlplane.streams.actions import STREAM_WRITES
from controlplane.streams.selectors import stream_list
from controlplane.streams.serializers import StreamSerializer


class StreamViewSet(NamedRecordViewSet):
    """Video sources, addressed by name: ``/api/streams/<name>/``."""

    writes = STREAM_WRITES
    serializer_class = StreamSerializer
    filterset_fields = ["queue", "status", "enabled", "source_kind"]

    def get_queryset(self):
        return stream_list()


class LegacyStreamIndex(APIView):
    """``GET /api/stream`` of the original demo's gateway, for its clients: the enabled streams and the
    websocket address of each, built from the host and scheme the client used."""

    @extend_schema(responses=inline_serializer("LegacyStreamIndex", {
        "streams": serializers.ListField(child=serializers.CharField()),
        "websockets": serializers.DictField(child=serializers.CharField()),
    }))
    def get(self, request):
        names = list(stream_list(filters={"enabled": True}).values_list("name", flat=True))
        base = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}/ws/streams"
        return Response({"streams": names, "websockets": {name: f"{base}/{name}/" for name in names}})
