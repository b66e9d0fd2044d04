"""INT8 from a stream's own frames: NNCF post-training quantization, and how the result compares with its parent.

Calibration frames go through the worker's own path (JPEG decode at the worker's scale, letterbox, then
the pre-processing the engine folds into the model) so that NNCF sees the tensors the model will see in
production. :func:`compare` then runs parent and candidate side by side in one process, with the same
settings, on frames held out from calibration: throughput of each, and how far the candidate's detections
agree with the parent's (:mod:`inference_worker.agreement`).

Imported only by the control plane's Celery job and the bench: NNCF is not a dependency of the workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import openvino as ov
import openvino.opset13 as ops
import simplejpeg

from inference_worker import decoders
from inference_worker.agreement import Agreement, agreement
from inference_worker.engine import Engine, Prepared, with_preprocessing
from inference_worker.model_store import LoadedModel, ModelError, openvino_error, shared_core

# NNCF reports usage to Google Analytics unless this is set before it is imported. Nothing may leave an
# edge box uninvited, so it is always off here.
os.environ.setdefault("NNCF_CI", "1")
import nncf  # noqa: E402  (after the switch above)

MEASURE_SECONDS = 4.0  # per model
ROUNDS = 4  # alternating, so a machine that gets busier mid-run slows both alike
JPEG_QUALITY = 90
# Post-processing that some families keep inside the graph (box decoding, NMS, class ids) must stay in
# float: NNCF would otherwise quantize it too, and a class id of 1.0 comes out as 0 (seen with builtin:people).
KEEP_FLOAT = {
    "tf_od": nncf.IgnoredScope(patterns=[r"Postprocessor/.*"], validate=False),
    "ssd": nncf.IgnoredScope(types=["DetectionOutput"], validate=False),
}


@dataclass(frozen=True)
class Comparison:
    """A candidate (INT8) model against its reference (FP32) on the same held-out frames, in one run."""

    reference_fps: float
    candidate_fps: float
    speedup: float
    precision: float
    recall: float
    f1: float
    mean_score_shift: float | None
    frames: int
    reference_detections: int
    candidate_detections: int

    def as_dict(self) -> dict:
        return asdict(self)


def as_jpeg(data: bytes) -> bytes:
    """An uploaded calibration image as JPEG bytes (JPEG is kept as it is, PNG and the rest re-encoded)."""
    try:
        simplejpeg.decode_jpeg_header(data)
        return data
    except ValueError:
        pass
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ModelError("a calibration image is not a picture OpenCV can read (JPEG, PNG, BMP, ...)")
    return simplejpeg.encode_jpeg(image, quality=JPEG_QUALITY, colorspace="BGR")


def _family(loaded: LoadedModel, family: str | None) -> str:
    try:
        return family or loaded.family or decoders.detect_family(loaded.model)
    except ValueError as exc:
        raise ModelError(str(exc)) from None


def _already_quantized(model: ov.Model) -> bool:
    return any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


def _prepared(engine: Engine, jpeg: bytes) -> Prepared:
    height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
    return engine.prepare(jpeg, width, height)


def _model_inputs(loaded: LoadedModel, family: str, frames: Sequence[bytes]) -> list[np.ndarray]:
    """The raw model's input tensors for these frames: decoded as the engine does, then run through the
    engine's own pre-processing, compiled on a model that only passes its input through."""
    engine = Engine(loaded, core=shared_core(), family=family, requests=1, on_result=lambda *_: None)
    port = loaded.model.inputs[0]
    passthrough = ops.parameter(port.get_partial_shape(), port.get_element_type())
    identity = ov.Model([ops.result(passthrough)], [passthrough], "preprocessing")
    preprocess = shared_core().compile_model(with_preprocessing(identity, decoders.input_spec(family))[0], "CPU")
    tensors = []
    for jpeg in frames:
        try:
            prepared = _prepared(engine, jpeg)
        except ValueError as exc:
            raise ModelError(f"a calibration frame is not a JPEG that can be decoded ({exc})") from None
        tensors.append(preprocess(prepared.tensor)[0].copy())
    return tensors


def quantize(loaded: LoadedModel, frames: Sequence[bytes], *, family: str | None = None) -> ov.Model:
    """An INT8 copy of ``loaded`` calibrated on ``frames`` (JPEG bytes), with NNCF's default (performance)
    preset. Raises ModelError with a reason a person can act on."""
    if not frames:
        raise ModelError("no calibration frames: quantization needs at least one")
    if _already_quantized(loaded.model):
        raise ModelError(f"model {loaded.name} is quantized already (it holds FakeQuantize operations)")
    family = _family(loaded, family)
    inputs = _model_inputs(loaded, family, frames)
    try:
        return nncf.quantize(
            loaded.model.clone(), nncf.Dataset(inputs), subset_size=len(inputs),
            ignored_scope=KEEP_FLOAT.get(family),
        )
    except Exception as exc:  # NNCF raises many types, from its own to OpenVINO's RuntimeError
        raise ModelError(f"NNCF could not quantize model {loaded.name}: {openvino_error(exc)}") from None


class _Runner:
    """One model compiled the way a worker compiles it, with its detections collected per frame."""

    def __init__(self, loaded, *, family, labels, threshold, keep, device):
        self.found: dict[int, list[dict]] = {}
        self.done = 0
        self.engine = Engine(
            loaded, core=shared_core(), device=device, family=family, labels=labels, threshold=threshold, keep=keep,
            on_result=self._record,
        )

    def _record(self, index, detections, _seconds) -> None:
        self.done += 1
        if index is not None:
            self.found[index] = detections or []

    def detect(self, prepared: Sequence[Prepared]) -> list[list[dict]]:
        for index, frame in enumerate(prepared):
            self.engine.submit(frame, index)
        self.engine.wait_all()
        return [self.found[index] for index in range(len(prepared))]

    def fps(self, prepared: Sequence[Prepared], seconds: float) -> float:
        """Frames per second with every infer request busy, cycling through the frames."""
        self.engine.wait_all()
        self.done, submitted = 0, 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            self.engine.submit(prepared[submitted % len(prepared)], None)
            submitted += 1
        self.engine.wait_all()
        return self.done / (time.perf_counter() - started)


def compare(
    reference: LoadedModel, candidate: LoadedModel, frames: Sequence[bytes], *, family: str | None = None,
    labels: Sequence[str] = (), threshold: float | None = None, keep: Collection[str] | None = None,
    device: str = "CPU", seconds: float = MEASURE_SECONDS,
) -> Comparison:
    """Throughput of both models and the candidate's agreement with the reference on ``frames``.

    Both are compiled alike (the worker's engine, its default requests) and timed in alternating rounds.
    The candidate takes the reference's family, labels and threshold: a quantized IR carries none of them.
    """
    if not frames:
        raise ModelError("no held-out frames to compare the models on")
    family = _family(reference, family)
    settings = {
        "family": family, "labels": tuple(labels) or reference.labels,
        "threshold": threshold if threshold is not None else reference.threshold, "keep": keep, "device": device,
    }
    runners = [_Runner(reference, **settings), _Runner(candidate, **settings)]
    with runners[0].engine, runners[1].engine:
        prepared = [_prepared(runners[0].engine, jpeg) for jpeg in frames]
        found = [runner.detect(prepared) for runner in runners]
        rates = [[], []]
        for _ in range(ROUNDS):
            for runner, rate in zip(runners, rates):
                rate.append(runner.fps(prepared, seconds / ROUNDS))
    reference_fps, candidate_fps = (sum(rate) / len(rate) for rate in rates)
    agreed: Agreement = agreement(found[0], found[1])
    return Comparison(
        reference_fps=round(reference_fps, 1), candidate_fps=round(candidate_fps, 1),
        speedup=round(candidate_fps / reference_fps, 3), precision=agreed.precision, recall=agreed.recall,
        f1=agreed.f1, mean_score_shift=agreed.mean_score_shift, frames=len(frames),
        reference_detections=agreed.reference, candidate_detections=agreed.candidate,
    )
