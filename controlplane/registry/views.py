"""/api/models/: the model registry. Uploads are multipart; edits, like every other write, are JSON."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from controlplane.core.permissions import ModelPermissionsOrReader
from controlplane.registry import actions, selectors
from controlplane.registry.serializers import InferenceModelSerializer, ModelUploadSerializer


class ChangePermission(ModelPermissionsOrReader):
    """A POST that changes a record needs the change permission, not the add permission."""

    perms_map = {**ModelPermissionsOrReader.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


class InferenceModelViewSet(viewsets.ModelViewSet):
    queryset = selectors.model_list()
    serializer_class = InferenceModelSerializer
    filterset_fields = ["status", "framework", "task"]
    search_fields = ["name"]
    ordering_fields = ["name", "version", "created", "measured_fps"]

    def initialize_request(self, request, *args, **kwargs):
        request = super().initialize_request(request, *args, **kwargs)
        if self.action == "create":  # the one write that carries files; others keep the JSON default
            request.parsers = [MultiPartParser()]
        return request

    @extend_schema(request={"multipart/form-data": ModelUploadSerializer}, responses={201: InferenceModelSerializer})
    def create(self, request, *args, **kwargs):
        upload = ModelUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        model = actions.model_create(**upload.validated_data)
        return Response(self.get_serializer(model).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = actions.model_update(model=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        actions.model_delete(model=instance)

    @extend_schema(request=None, responses={202: InferenceModelSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangePermission])
    def validate(self, request, pk=None):
        """Validate the model again in the background (after an OpenVINO upgrade, or on new hardware)."""
        model = actions.model_queue_validation(model=self.get_object())
        return Response(self.get_serializer(model).data, status=status.HTTP_202_ACCEPTED)
