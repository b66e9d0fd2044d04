"""INT8 against FP32 on the street video's own frames: what a user learns before switching a service.

In one run: the first ``--frames`` frames of ``vtest.avi`` calibrate NNCF's post-training quantization
(the job behind ``POST /api/models/<id>/quantize/``), and the ``--held-out`` frames after them are used
to compare the two models through the worker's own engine (same settings, alternating timing rounds):
throughput of each and the INT8 model's agreement with FP32 (label and IoU >= 0.5).

``builtin:vehicles`` is INT8 already (quantization-aware trained by Google): for it the baseline is the
same graph with its FakeQuantize operations removed, so it runs in float.

The last line is ``int8_fps=<x> fp32_fps=<y> speedup=<x/y> f1=<z>``.

    .venv/bin/python bench/quantize.py --model builtin:people
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import openvino as ov
import openvino.opset13 as ops

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inference_worker.model_store import LoadedModel, load_model  # noqa: E402
from inference_worker.quantization import compare, quantize  # noqa: E402
from tests.support import vtest_jpegs  # noqa: E402


def in_float(spec: str) -> LoadedModel:
    """The model read afresh with every FakeQuantize made a clamp and an affine map without rounding: the
    same ranges and dequantized weights (constant-folded when compiled), computed in float. Read afresh,
    not cloned: a rewritten clone gave garbage once compiled before its original (OpenVINO 2026.4)."""
    loaded = load_model(ov.Core(), spec)
    model = loaded.model
    for op in model.get_ops():
        if op.get_type_name() != "FakeQuantize":
            continue
        x, in_low, in_high, out_low, out_high = (op.input_value(i) for i in range(5))
        clamped = ops.minimum(ops.maximum(x, in_low), in_high)
        gain = ops.divide(ops.subtract(out_high, out_low), ops.subtract(in_high, in_low))
        op.output(0).replace(ops.add(ops.multiply(ops.subtract(clamped, in_low), gain), out_low).output(0))
    model.validate_nodes_and_infer_types()
    return replace(loaded, name=f"{loaded.name} (float)", model=model)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="builtin:people", help="builtin:people, builtin:face or builtin:vehicles")
    p.add_argument("--frames", type=int, default=300, help="calibration frames (the API's default)")
    p.add_argument("--held-out", type=int, default=75, help="frames after them, to compare on")
    p.add_argument("--every", type=int, default=2, help="take every n-th frame of the video (it has 795)")
    p.add_argument("--seconds", type=float, default=8.0, help="timing per model")
    args = p.parse_args()

    jpegs = vtest_jpegs(args.frames + args.held_out, every=args.every)
    if len(jpegs) < args.frames + args.held_out:
        p.error(f"vtest.avi gives {len(jpegs)} frames at --every {args.every}; run `make assets`, or ask for fewer")
    calibration, held_out = jpegs[: args.frames], jpegs[args.frames:]
    parent = load_model(ov.Core(), args.model)
    if any(op.get_type_name() == "FakeQuantize" for op in parent.model.get_ops()):
        print(f"{args.model} is INT8 already; its baseline is the same graph in float")
        fp32, int8 = in_float(args.model), parent
    else:
        started = time.perf_counter()
        int8 = replace(parent, name=f"{parent.name} (INT8)", model=quantize(parent, calibration))
        print(f"quantized {args.model} on {len(calibration)} frames in {time.perf_counter() - started:.1f} s")
        fp32 = parent
    result = compare(fp32, int8, held_out, seconds=args.seconds)
    print(
        f"held-out frames: {result.frames}; detections fp32 {result.reference_detections}, "
        f"int8 {result.candidate_detections}; precision {result.precision} recall {result.recall} "
        f"mean score shift {result.mean_score_shift}"
    )
    print(f"int8_fps={result.candidate_fps} fp32_fps={result.reference_fps} speedup={result.speedup} f1={result.f1}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
