"""GET /api/models/<pk>/files/<filename>/: an uploaded model's files, for workers that cannot open the media
folder (Kubernetes pods). The stored sha256 goes along in a header, so any client can check what it got."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.views import APIView

from controlplane.core.permissions import ModelFileReader
from controlplane.registry import selectors
from controlplane.registry.models import InferenceModel

CHECKSUM_HEADER = "X-Checksum-SHA256"


def _stored_files(model: InferenceModel) -> dict[str, tuple[FieldFile, str]]:
    """The model's stored files by basename, each with its sha256."""
    pairs = ((model.file, model.file_sha256), (model.weights, model.weights_sha256))
    return {PurePosixPath(field.name).name: (field, sha256) for field, sha256 in pairs if field}


class ModelFileView(APIView):
    """Reading a model's files needs the same right as reading the model: a token or a session, or
    nothing when ``EI_ANONYMOUS_READ`` is on; the workers' token (``manage.py worker_token``) reads these
    files and nothing else."""

    permission_classes = [ModelFileReader]

    def perform_content_negotiation(self, request, force=False):
        # The body is the file whatever the client accepts (curl -H 'Accept: application/octet-stream'
        # included); errors then come back in the one JSON error shape.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="models_files_download",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The model's id."),
            OpenApiParameter(
                "filename", str, OpenApiParameter.PATH, description="Basename of the model file or of an IR's weights."
            ),
            OpenApiParameter(
                CHECKSUM_HEADER, str, OpenApiParameter.HEADER, response=[200], description="sha256 of the file, hex."
            ),
        ],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
    )
    def get(self, request, pk: str, filename: str):
        """Download a stored model file (``file``) or an IR's weights (``weights``) by its basename."""
        try:
            model = selectors.model_get(model_id=int(pk))
        except (ValueError, InferenceModel.DoesNotExist):
            raise exceptions.NotFound(f"No model with id {pk}.") from None
        if model.builtin:
            raise exceptions.NotFound(
                f"Model {model} is built in ({model.builtin}): the worker ships it, there are no files."
            )
        files = _stored_files(model)
        if filename not in files:
            raise exceptions.NotFound(
                f"Model {model} has no file named {filename!r}; its files: {', '.join(sorted(files))}."
            )
        field, sha256 = files[filename]
        response = FileResponse(
            field.storage.open(field.name, "rb"), as_attachment=True, filename=filename,
            content_type="application/octet-stream",
        )
        response[CHECKSUM_HEADER] = sha256
        return response
