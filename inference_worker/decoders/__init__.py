"""Turn raw detector outputs into detections, one module per output family, picked by output shapes or names.

``make_decoder(model, family, ...)`` inspects the model once and returns a callable that takes the output
arrays in the order of ``model.outputs`` (batch 1) and returns ``[{"label", "score", "box"}]``: boxes
[x0, y0, x1, y1] normalised to the model input (the engine undoes letterboxing), clipped to 0..1, best
first, score >= threshold. ``labels`` is indexed by the class id the model itself emits: 0-based for
YOLO and BlazeFace (one class), and with background at 0 for SSD, TF OD and SSD anchors (person is id 1).
``keep`` names the labels to report (None: all), a service's label selection.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from importlib import import_module
from types import ModuleType

import openvino as ov

from inference_worker.protocol import OUTPUT_FAMILIES

from .common import Decoder, Detection, InputSpec, describe

__all__ = ["FAMILIES", "Decoder", "Detection", "InputSpec", "detect_family", "input_spec", "make_decoder"]

FAMILIES = tuple(OUTPUT_FAMILIES)
# Each family's decoder is the module of this package named after it (``INPUT``, ``EXPECTS``, ``fits``, ``decoder``).
_MODULES: dict[str, ModuleType] = {family: import_module(f"{__name__}.{family}") for family in FAMILIES}
# Output names are the surest sign, so TF OD is tried first; the shape rules of the others do not overlap.
_DETECTION_ORDER = sorted(FAMILIES, key=lambda family: family != "tf_od")


def _family(family: str) -> ModuleType:
    try:
        return _MODULES[family]
    except KeyError:
        raise ValueError(f"unknown output family {family!r}; expected one of {'|'.join(FAMILIES)}") from None


def detect_family(model: ov.Model) -> str:
    """The family whose output layout the model has, so users need not name it."""
    for family in _DETECTION_ORDER:
        if _MODULES[family].fits(model):
            return family
    raise ValueError(
        f"cannot tell the output family of model outputs [{describe(model)}]; pass --format {'|'.join(FAMILIES)}"
    )


def input_spec(family: str) -> InputSpec:
    return _family(family).INPUT


def make_decoder(
    model: ov.Model, family: str, *, threshold: float, labels: Sequence[str], keep: Collection[str] | None = None
) -> Decoder:
    """Check the model against the family once, then return a vectorised decoder for its outputs."""
    module = _family(family)
    if not module.fits(model):
        raise ValueError(f"model outputs [{describe(model)}] do not fit family {family!r}, which has {module.EXPECTS}")
    return module.decoder(
        model, threshold=threshold, labels=tuple(labels), keep=None if keep is None else frozenset(keep)
    )
