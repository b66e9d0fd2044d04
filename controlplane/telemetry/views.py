"""Read-only API of the live fleet. Figures come from Redis at each request; nothing here writes."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from controlplane.inference.models import InferenceService
from controlplane.inference.selectors import inference_service_get
from controlplane.telemetry import history, selectors
from controlplane.core.redis import RedisOutageAs503
from controlplane.telemetry.serializers import (
    FleetMetricsSerializer,
    FleetWorkerSerializer,
    HistoryQuerySerializer,
    ServiceHistorySerializer,
    WorkerQuerySerializer,
)
from inference_worker.protocol import NAME_RE


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


class ServiceHistoryView(RedisOutageAs503, APIView):
    """The service's pool figures over the last minutes, one sample per interval, oldest first."""

    @extend_schema(
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, pattern=NAME_RE.pattern),
                    HistoryQuerySerializer],
        responses=ServiceHistorySerializer,
    )
    def get(self, request, name: str):
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            inference_service_get(name=name)
        except InferenceService.DoesNotExist:
            raise NotFound(f"No inference service called {name!r}.") from None
        samples = history.service_history(service=name, minutes=query.validated_data["minutes"])
        body = {"service": name, "interval_seconds": history.INTERVAL_SECONDS, "samples": samples}
        return Response(ServiceHistorySerializer(body).data)
