"""OpenVINO side of the worker: pre-processing folded into the model, asynchronous infer requests.

The host only decodes JPEG (at the smallest power-of-two scale that the model input needs, see
:func:`decode_factor`) and, for letterboxed families, pads; resize, layout, colour order and normalisation run inside the
compiled model, where they use the same threads as inference.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
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
# How much smaller than the model input a decode may be (the model's own resize scales it up). Huffman
# decoding costs the same at every scale, only the inverse DCT and colour conversion shrink: a 640x480
# frame for the 300x300 people model at 320x240 (1.25x up) decoded faster but kept 0.79 of the person
# detections on the street video (bench/decode_scale.py), so decodes never go below the model input.
MAX_UPSCALE = 1.0


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
    """A compiled model with a pool of asynchronous infer requests, and one thread that finishes them.

    ``on_result(userdata, detections, infer_seconds)`` is called for every request, in the order they
    were submitted, on the engine's ``results`` thread; ``detections`` is None when the inference or its
    post-processing failed (already logged), so no frame goes unaccounted.

    Not OpenVINO's callbacks: they run on the threads that infer, so each result's Python
    post-processing (and every wait for the GIL, held meanwhile by the pop loop or the publisher)
    stalled an OpenVINO stream. The results thread waits for the oldest request with the GIL
    released; the inference threads never run Python.

    ``close()`` (or leaving a ``with`` block) finishes what was submitted and ends that thread, so the engine
    and its compiled model go when their owner drops them, on the owner's thread.
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
        max_upscale: float = MAX_UPSCALE,
        on_result: Callable[[object, list[dict], float], None],
    ):
        self.family = family or loaded.family or decoders.detect_family(loaded.model)
        spec = decoders.input_spec(self.family)
        self.letterbox = spec.letterbox
        self.max_upscale = max_upscale
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
        self._idle: queue.SimpleQueue[ov.InferRequest] = queue.SimpleQueue()
        for _ in range(self.requests):
            self._idle.put(self.compiled.create_infer_request())
        self._in_flight: queue.Queue[tuple[ov.InferRequest, Prepared, object] | None] = queue.Queue()
        self._finisher: threading.Thread | None = None
        self._output_indices = range(len(self.compiled.outputs))  # asked once, not per frame
        self._on_result = on_result

    def prepare(self, jpeg: bytes, width: int, height: int) -> Prepared:
        """Decode once, at the scale :func:`decode_factor` picks, and pad for a letterboxed model."""
        factor = decode_factor(
            width, height, self.width, self.height, letterbox=self.letterbox, max_upscale=self.max_upscale
        )
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
        request = self._idle.get()
        # A Tensor over the array's memory, set directly: start_async(inputs) dispatches on the inputs'
        # types in Python on every call, and on a small model that showed in the pop loop's profile.
        request.set_input_tensor(ov.Tensor(prepared.tensor, shared_memory=True))
        request.start_async()
        self._in_flight.put((request, prepared, userdata))
        if self._finisher is None:  # started by the first request: an engine that only decodes holds no thread
            self._finisher = threading.Thread(target=self._finish, name="results", daemon=True)
            self._finisher.start()

    def wait_all(self) -> None:
        """Until every submitted request's ``on_result`` has returned."""
        self._in_flight.join()

    def close(self) -> None:
        """Finish every submitted request, then end the results thread; the engine takes no more."""
        if self._finisher is not None:
            self._in_flight.put(None)
            self._finisher.join()
            self._finisher = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _finish(self) -> None:
        """Finish requests in submission order until ``close()``'s marker comes."""
        while (item := self._in_flight.get()) is not None:
            request, prepared, userdata = item
            detections = None
            try:
                request.wait()
                detections = self._detections(request, prepared)
            except Exception:
                log.exception("inference or post-processing failed")
            infer_seconds = request.latency / 1000
            self._idle.put(request)
            try:
                self._on_result(userdata, detections, infer_seconds)
            except Exception:  # the thread must live on: later requests and wait_all() depend on it
                log.exception("handling a result failed")
            finally:
                self._in_flight.task_done()
        self._in_flight.task_done()

    def _detections(self, request: ov.InferRequest, prepared: Prepared) -> list[dict]:
        detections = self.decode([request.get_output_tensor(i).data for i in self._output_indices])
        if self.letterbox:
            detections = [_unletterbox(d, prepared) for d in detections]
        return detections


def decode_factor(
    width: int, height: int, model_width: int, model_height: int, *, letterbox: bool, max_upscale: float = MAX_UPSCALE
) -> int:
    """The largest 1/2^k JPEG scale (k <= 3, libjpeg's smallest) at which a ``width`` x ``height`` frame still
    has, on each side, at least ``1 / max_upscale`` of the pixels the model's input takes from it."""
    if letterbox:  # the frame is fitted inside the input, keeping its aspect ratio
        fit = max(width / model_width, height / model_height)
        need_w, need_h = width / fit, height / fit
    else:
        need_w, need_h = model_width, model_height
    factor = 1
    while factor < 8 and (width / (factor * 2)) * max_upscale >= need_w and (height / (factor * 2)) * max_upscale >= need_h:
        factor *= 2
    return factor


def _unletterbox(detection: dict, prepared: Prepared) -> dict:
    x0, y0, x1, y1 = detection["box"]
    sx, sy = prepared.scale_x, prepared.scale_y
    box = [min(1.0, x0 / sx), min(1.0, y0 / sy), min(1.0, x1 / sx), min(1.0, y1 / sy)]
    return {**detection, "box": [round(v, 4) for v in box]}
