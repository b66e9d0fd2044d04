"""/api/models/<id>/quantize/ starts a job; /api/quantizations/ lists, shows and cancels them.

Reading needs what reading any record needs; starting or cancelling a job needs the right to add models,
since a job adds one. Starting takes JSON (a stream) or multipart (uploaded images), every other write JSON.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from controlplane.core.permissions import downloads_only
from controlplane.quantization import actions, selectors
from controlplane.quantization.serializers import (
    QuantizationJobSerializer, QuantizeImagesSerializer, QuantizeStreamSerializer,
)
from controlplane.registry import selectors as registry_selectors
from controlplane.registry.models import InferenceModel

ADD_MODELS = "registry.add_inferencemodel"


class MayQuantize(permissions.BasePermission):
    """Reads as for every record (a reader, or anybody with ``EI_ANONYMOUS_READ``); writes need the right to
    add models."""

    def has_permission(self, request, view):
        user = request.user
        logged_in = bool(user and user.is_authenticated)
        if request.method in permissions.SAFE_METHODS:
            return settings.EI_ANONYMOUS_READ or (logged_in and not downloads_only(user))
        return logged_in and user.has_perm(ADD_MODELS)


class QuantizeView(APIView):
    permission_classes = [MayQuantize]
    parser_classes = [JSONParser, MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Up to 2500 pictures: each goes to a temporary file as it arrives, none is held in memory.
        request.upload_handlers = [TemporaryFileUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="models_quantize",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The model's id.")],
        request={
            "application/json": QuantizeStreamSerializer,
            "multipart/form-data": QuantizeImagesSerializer,
        },
        responses={202: QuantizationJobSerializer},
    )
    def post(self, request, pk: str):
        """Make an INT8 copy of a ready FP32 (or FP16) model with NNCF, in the background: calibrated on a
        stream's results (JSON ``{"stream": ..., "frames": 300}``) or on uploaded images (multipart,
        ``images`` repeated, ``frames`` optional). The job registers the result as a new model
        (``derived_from`` the parent), validates it, and measures it against the parent on held-out
        frames (``speedup``, ``agreement``). Follow it at ``/api/quantizations/<id>/``."""
        try:
            model = registry_selectors.model_get(model_id=int(pk))
        except (ValueError, InferenceModel.DoesNotExist):
            raise exceptions.NotFound(f"No model with id {pk}.") from None
        if request.content_type.startswith("multipart/"):
            if "stream" in request.data:
                raise exceptions.ValidationError({"stream": ["Send a stream as JSON; multipart is for images."]})
            shape = QuantizeImagesSerializer(data=request.data)
            shape.is_valid(raise_exception=True)
            job = actions.quantization_start(
                model=model, images=shape.validated_data["images"], frame_count=shape.validated_data.get("frames"),
            )
        else:
            shape = QuantizeStreamSerializer(data=request.data)
            shape.is_valid(raise_exception=True)
            job = actions.quantization_start(
                model=model, stream=shape.validated_data["stream"], frame_count=shape.validated_data["frames"],
            )
        return Response(QuantizationJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class QuantizationJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Quantization jobs, newest first: ``/api/quantizations/<id>/``."""

    queryset = selectors.job_list()
    serializer_class = QuantizationJobSerializer
    permission_classes = [MayQuantize]
    filterset_fields = ["model", "state"]
    ordering_fields = ["created", "updated"]

    @extend_schema(
        request=None,
        responses={
            200: QuantizationJobSerializer,
            409: OpenApiResponse(description="The job has ended already: nothing to cancel."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a job: a queued one ends cancelled at once; a running one is asked to stop, and ends
        cancelled at its next check (within a second while it collects frames, else after its phase),
        deleting what it made. Poll the job to see it end."""
        job = actions.quantization_cancel(job=self.get_object())
        return Response(self.get_serializer(job).data)
