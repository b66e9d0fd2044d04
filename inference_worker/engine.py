"""OpenVINO side of the worker: pre-processing folded into the model, asynchronous infer requests.

The host only decodes JPEG (at the smallest power-of-two scale that still covers the model input)
and, for letterboxed families, pads; resize, layout, colour order and normalisation run inside the
compiled model, where they use the same threads as inference.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import openvino as ov
import simplejpeg
from openvino.preprocess import ColorFormat, PrePostProcessor, ResizeAlgorithm

from inference_worker import decoders
from inference_worker.decoders.common import input_layout, input_size
from inference_worker.model_store import LoadedModel, ModelError

log = logging.getLogger("ei.engine")

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Prepared:
    """A decoded image ready for the model, and how to map boxes back onto the original frame."""

    tensor: np.ndarray
    picture: np.ndarray  # the decoded frame without padding (a view of ``tensor``), for a preview
    scale_x: float = 1.0
    scale_y: float = 1.0


def with_preprocessing(model: ov.Model, spec: decoders.InputSpec) -> tuple[ov.Model, int, int]:
    """A copy of ``model`` that accepts BGR uint8 NHWC images of any size; resize, reorder and normalise
    inside the model. A copy, because PrePostProcessor rewrites the model it is given, which must stay
    usable for a second engine (a restarted worker, or a quantizer that compares two)."""
    if len(model.inputs) != 1:
        raise ModelError(f"expected one image input, the model has {len(model.inputs)}")
    try:
        layout = input_layout(model)
        height, width = input_size(model)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    ppp = PrePostProcessor(model.clone())
    port = ppp.input()
    port.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(
        ColorFormat.BGR
    ).set_spatial_dynamic_shape()
    steps = port.preprocess()
    if spec.color == "RGB":
        steps.convert_color(ColorFormat.RGB)
    if spec.element_type == "f32":
        steps.convert_element_type(ov.Type.f32)
    steps.resize(ResizeAlgorithm.RESIZE_LINEAR)
    if spec.mean:
        steps.mean(spec.mean)
    if spec.scale != 1:
        steps.scale(spec.scale)
    port.model().set_layout(ov.Layout(layout))
    return ppp.build(), height, width


class Engine:
    """A compiled model with a pool of asynchronous infer requests.

    ``on_result(userdata, detections, infer_seconds)`` runs on an OpenVINO thread for every request;
    ``detections`` is None when post-processing failed (already logged), so no frame goes unaccounted.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        core: ov.Core,
        device: str = "CPU",
        requests: int = 0,
        threshold: float | None = None,
        family: str | None = None,
        labels: Sequence[str] = (),
        keep: Collection[str] | None = None,
        on_result: Callable[[object, list[dict], float], None],
    ):
        self.family = family or loaded.family or decoders.detect_family(loaded.model)
        spec = decoders.input_spec(self.family)
        self.letterbox = spec.letterbox
        self.threshold = threshold if threshold is not None else (loaded.threshold or DEFAULT_THRESHOLD)
        try:
            self.decode = decoders.make_decoder(
                loaded.model, self.family, threshold=self.threshold, labels=tuple(labels) or loaded.labels,
                keep=keep or loaded.keep,
            )
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        model, self.height, self.width = with_preprocessing(loaded.model, spec)
        self.compiled = core.compile_model(model, device, {"PERFORMANCE_HINT": "THROUGHPUT"})
        # Twice the device's optimum: each OpenVINO stream then has a request queued while the host
        # decodes the next frame, which measured 5-10 % more throughput on 2 cores than the optimum alone.
        self.requests = requests or 2 * self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        self.queue = ov.AsyncInferQueue(self.compiled, self.requests)
        self.queue.set_callback(self._done)
        self._output_indices = range(len(self.compiled.outputs))  # asked once, not per frame
        self._on_result = on_result
        self._started: dict[int, float] = {}

    def prepare(self, jpeg: bytes, width: int, height: int) -> Prepared:
        """Decode once, at the smallest 1/2^k scale that still covers the model input."""
        if self.letterbox:
            fit = max(width / self.width, height / self.height)
            need_w, need_h = width / fit, height / fit
        else:
            need_w, need_h = self.width, self.height
        factor = 1
        while factor < 8 and width / (factor * 2) >= need_w and height / (factor * 2) >= need_h:
            factor *= 2
        image = simplejpeg.decode_jpeg(
            jpeg, "BGR", fastdct=True, fastupsample=True,
            min_height=math.ceil(height / factor), min_width=math.ceil(width / factor),
        )
        if not self.letterbox:
            return Prepared(image[np.newaxis], image)
        h, w = image.shape[:2]
        side = max(w * self.height / self.width, h)
        pad_w, pad_h = round(side * self.width / self.height), round(side)
        padded = cv2.copyMakeBorder(image, 0, pad_h - h, 0, pad_w - w, cv2.BORDER_CONSTANT, value=0)
        return Prepared(padded[np.newaxis], padded[:h, :w], scale_x=w / pad_w, scale_y=h / pad_h)

    def submit(self, prepared: Prepared, userdata: object) -> None:
        """Start an inference; blocks while every request is busy, which is the worker's back-pressure."""
        self.queue.start_async({0: prepared.tensor}, (prepared, userdata, time.perf_counter()), share_inputs=True)

    def wait_all(self) -> None:
        self.queue.wait_all()

    def _done(self, request: ov.InferRequest, userdata: tuple) -> None:
        prepared, inner, started = userdata
        detections = None
        try:
            outputs = [request.get_output_tensor(i).data for i in self._output_indices]
            detections = self.decode(outputs)
            if self.letterbox:
                detections = [_unletterbox(d, prepared) for d in detections]
        except Exception:  # an exception escaping the callback would vanish inside OpenVINO
            log.exception("post-processing failed")
        self._on_result(inner, detections, time.perf_counter() - started)


def _unletterbox(detection: dict, prepared: Prepared) -> dict:
    x0, y0, x1, y1 = detection["box"]
    sx, sy = prepared.scale_x, prepared.scale_y
    box = [min(1.0, x0 / sx), min(1.0, y0 / sy), min(1.0, x1 / sx), min(1.0, y1 / sy)]
    return {**detection, "box": [round(v, 4) for v in box]}
