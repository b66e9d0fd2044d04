"""Cheap checks of an upload, answered at once in the upload's response: the file type, and what its first
bytes say. Free of OpenVINO and OpenCV, so the web process never loads them (the real run is in
:mod:`controlplane.registry.validation`, in the Celery worker)."""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

from django.core.files import File

from controlplane.registry.models import InferenceModel

FRAMEWORK_BY_SUFFIX = {
    ".xml": InferenceModel.Framework.IR,
    ".onnx": InferenceModel.Framework.ONNX,
    ".tflite": InferenceModel.Framework.TFLITE,
    ".pb": InferenceModel.Framework.TF,
}



class _DoctypeRefused(Exception):
    pass


def _xml_problem(upload: File) -> str | None:
    """Parse as a stream (no tree in memory); an IR never declares a DTD, so none is expanded."""
    parser = expat.ParserCreate()
    roots: list[str] = []

    def start(name, _attrs):
        if not roots:
            roots.append(name)

    def doctype(*_args):
        raise _DoctypeRefused

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        for chunk in upload.chunks():
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        return f"is not valid XML: {expat.ErrorString(exc.code)} at line {exc.lineno}"
    except _DoctypeRefused:
        return "declares a DTD, which an OpenVINO IR never does"
    if roots != ["net"]:
        return f"is XML but not an OpenVINO IR: its root element is <{roots[0]}>, expected <net>"
    return None


def upload_problem(upload: File) -> str | None:
    """What is obviously wrong with a model file, judged from its format only; None if nothing is."""
    suffix = Path(upload.name).suffix.lower()
    if suffix == ".xml":
        return _xml_problem(upload)
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    # ONNX is a protobuf ModelProto, serialised in field order: it opens with ir_version (field 1, varint).
    if suffix == ".onnx" and head[:1] != b"\x08":
        return "does not start like an ONNX model (a protobuf ModelProto opening with its ir_version)"
    if suffix == ".tflite" and head[4:8] != b"TFL3":
        return "lacks the TensorFlow Lite file identifier 'TFL3' at bytes 4-8"
    return None
