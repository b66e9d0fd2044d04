"""Whether a model can serve: a real run with OpenVINO on this machine (read, detect the output family, one
inference, a short throughput measurement). It takes seconds, so it runs in a Celery task, which calls
``model_validate``; ``manage.py validate_models`` calls it in-process. The cheap checks of an upload are in
:mod:`controlplane.registry.uploads`.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from controlplane.registry.models import AUTO_FAMILY, InferenceModel
from controlplane.core.reconcile import request_reconcile
from inference_worker import decoders
from inference_worker.decoders.common import describe, dims
from inference_worker.engine import Engine
from inference_worker.model_store import LoadedModel, ModelError, load_model, openvino_error, shared_core

log = logging.getLogger("ei.validation")

MEASURE_SECONDS = 1.5


@dataclass(frozen=True)
class Report:
    family: str
    input_shape: list[int]
    fps: float
    device: str

    def summary(self) -> str:
        return f"output family {self.family}, input {self.input_shape}, {self.fps:.1f} fps on {self.device}"


def probe_jpeg() -> bytes:
    """A 640x480 picture of gradients and shapes: it exercises decoding, pre-processing and the decoder
    without shipping an image or needing scikit-image at run time."""
    y, x = np.mgrid[0:480, 0:640]
    image = np.stack([x * 255 // 639, y * 255 // 479, (x + y) * 255 // 1118], axis=-1).astype(np.uint8)
    cv2.circle(image, (220, 200), 90, (40, 170, 230), -1)
    cv2.rectangle(image, (380, 120), (540, 420), (200, 60, 30), -1)
    return simplejpeg.encode_jpeg(image, quality=85, colorspace="BGR")


def _family(loaded: LoadedModel, family: str | None) -> str:
    if family:
        return family
    if loaded.family:
        return loaded.family
    try:
        return decoders.detect_family(loaded.model)
    except ValueError:
        raise ModelError(
            f"cannot tell the output family of model outputs [{describe(loaded.model)}]; "
            f"set output_family to one of {', '.join(decoders.FAMILIES)}"
        ) from None


def check_model(
    spec: str, *, family: str | None = None, labels: Sequence[str] = (), device: str = "CPU",
    seconds: float = MEASURE_SECONDS,
) -> Report:
    """Read ``spec`` (``builtin:<name>`` or a file path) as the worker would, run one inference on a picture,
    then measure throughput for ``seconds``. Raises ModelError with a message a person can act on."""
    core = shared_core()
    loaded = load_model(core, spec)
    family = _family(loaded, family)
    input_shape = list(dims(loaded.model.inputs[0])) if loaded.model.inputs else []
    finished: list = []  # detections of each finished request; list.append is atomic
    try:
        engine = Engine(
            loaded, core=core, device=device, family=family, labels=labels,
            on_result=lambda _userdata, detections, _seconds: finished.append(detections),
        )
    except ModelError:
        raise
    except RuntimeError as exc:
        raise ModelError(f"OpenVINO cannot compile model {loaded.name} for {device}: {openvino_error(exc)}") from None
    with engine:
        prepared = engine.prepare(probe_jpeg(), 640, 480)
        engine.submit(prepared, None)
        engine.wait_all()
        if not finished or finished[0] is None:
            raise ModelError(f"the outputs of model {loaded.name} could not be decoded as family {family}; see the log")
        finished.clear()
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            engine.submit(prepared, None)
        engine.wait_all()
        fps = len(finished) / (time.perf_counter() - started)
    return Report(family=family, input_shape=input_shape, fps=round(fps, 1), device=device)


def _local_path(stored: FieldFile) -> Path | None:
    try:
        path = Path(stored.path)
    except NotImplementedError:  # storage without local files, e.g. S3
        return None
    return path if path.is_file() else None


@contextlib.contextmanager
def local_spec(model: InferenceModel) -> Iterator[str]:
    """What ``load_model`` takes for this record: its built-in name, or a local path to its file with an IR's
    weights beside it under the same stem. Storage that is not local (or names that drifted apart) is
    copied to a temporary folder first."""
    if model.builtin:
        yield model.builtin
        return
    files = [f for f in (model.file, model.weights) if f]
    if not files:
        raise ModelError(f"model {model} has no file and is no built-in; upload it again")
    for stored in files:
        if not stored.storage.exists(stored.name):
            raise ModelError(f"the stored file {stored.name} is missing; upload the model again")
    paths = [_local_path(stored) for stored in files]
    if paths[0] and (len(paths) == 1 or paths[1] == paths[0].with_suffix(".bin")):
        yield str(paths[0])
        return
    with tempfile.TemporaryDirectory(prefix="ei-validate-") as tmp:
        target = Path(tmp) / Path(model.file.name).name
        for stored, path in zip(files, (target, target.with_suffix(".bin"))):
            with stored.open("rb") as source, path.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        yield str(target)


def _outcome(model: InferenceModel) -> dict:
    """Validate in this process and return the fields to write; never raises for a bad model."""
    folder = None
    try:
        with local_spec(model) as spec:
            folder = None if model.builtin else f"{Path(spec).parent}/"
            family = None if model.output_family == AUTO_FAMILY else model.output_family
            report = check_model(spec, family=family, labels=model.labels)
    except ModelError as exc:
        # Name the file as the user uploaded it, not by a path on this server.
        message = str(exc).replace(folder, "") if folder else str(exc)
        return {"status": InferenceModel.Status.FAILED, "status_message": message}
    except Exception as exc:
        log.exception("validating model %s crashed", model)
        return {
            "status": InferenceModel.Status.FAILED,
            "status_message": f"validation crashed ({type(exc).__name__}: {exc}); see the log",
        }
    return {
        "status": InferenceModel.Status.READY, "status_message": report.summary(),
        "measured_fps": report.fps, "input_shape": report.input_shape,
    }


def model_validate(*, model_id: int) -> InferenceModel | None:
    """Validate a model now: validating, then ready or failed. A model deleted meanwhile is a no-op.

    No transaction spans the run (seconds), which would hold SQLite's write lock. Whatever stops the
    run, the row leaves ``validating``.
    """
    rows = InferenceModel.objects.filter(pk=model_id)
    if not rows.update(status=InferenceModel.Status.VALIDATING, status_message="", updated=timezone.now()):
        return None
    outcome = {"status": InferenceModel.Status.FAILED, "status_message": "validation was interrupted; validate again"}
    try:
        model = rows.first()
        if model is not None:
            outcome = _outcome(model)
    finally:
        now = timezone.now()
        rows.update(**{"measured_fps": None, "input_shape": None, **outcome}, validated_at=now, updated=now)
        request_reconcile()  # services waiting for this model deploy now, or show why they cannot
    return rows.first()
