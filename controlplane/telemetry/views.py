"""Read-only API of the live fleet. Figures come from Redis at each request; nothing here writes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from controlplane.telemetry import selectors
from controlplane.telemetry.redis import RedisOutageAs503
from controlplane.telemetry.serializers import FleetMetricsSerializer, FleetWorkerSerializer, WorkerQuerySerializer


class WorkerViewSet(RedisOutageAs503, viewsets.ViewSet):
    """Workers with a live heartbeat, sorted by queue then id."""

    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(parameters=[WorkerQuerySerializer], responses=FleetWorkerSerializer(many=True))
    def list(self, request):
        query = WorkerQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        workers = selectors.worker_list(queue=query.validated_data.get("queue"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(workers, request, view=self)
        return paginator.get_paginated_response(FleetWorkerSerializer(page, many=True).data)


class MetricsView(RedisOutageAs503, APIView):
    """Fleet figures per inference service and per stream."""

    @extend_schema(responses=FleetMetricsSerializer)
    def get(self, request):
        figures = {"services": selectors.service_metrics_list(), "streams": selectors.stream_metrics_list()}
        return Response(FleetMetricsSerializer(figures).data)
