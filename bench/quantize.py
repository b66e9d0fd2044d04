"""INT8 against FP32 on the street video's own frames: what a user learns before switching a service.

In one run: the first ``--frames`` frames of ``vtest.avi`` (for the face model, whose street faces are
too small to find, a pan and zoom over scikit-image's portraits) calibrate NNCF's post-training quantization
(the job behind ``POST /api/models/<id>/quantize/``), and the ``--held-out`` frames after them are used
to compare the two models through the worker's own engine (same settings, alternating timing rounds):
throughput of each and the INT8 model's agreement with FP32 (label and IoU >= 0.5).

``builtin:vehicles`` is INT8 already (Coral's quantization-aware training): like the job, the bench
refuses it.

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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inference_worker.model_store import ModelError, load_model  # noqa: E402
from inference_worker.quantization import compare, quantize  # noqa: E402
from scripts.fetch_assets import pan_and_zoom  # noqa: E402
from tests.support import jpeg_of, sample_image, vtest_jpegs  # noqa: E402

PORTRAITS = ("astronaut", "camera")  # scikit-image's pictures with a face; the street's faces are too small


def portrait_jpegs(count: int) -> list[bytes]:
    """A slow pan and zoom over each portrait, interleaved so that calibration and held-out frames hold both."""
    shots = [pan_and_zoom(sample_image(name), (count + 1) // len(PORTRAITS)) for name in PORTRAITS]
    return [jpeg_of(shot) for pair in zip(*shots) for shot in pair][:count]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="builtin:people", help="builtin:people, builtin:face or builtin:vehicles")
    p.add_argument("--frames", type=int, default=300, help="calibration frames (the API's default)")
    p.add_argument("--held-out", type=int, default=75, help="frames after them, to compare on")
    p.add_argument("--every", type=int, default=2, help="take every n-th frame of the video (it has 795)")
    p.add_argument("--seconds", type=float, default=8.0, help="timing per model")
    p.add_argument("--footage", choices=("street", "portraits"), help="default: portraits for builtin:face, else street")
    args = p.parse_args()

    footage = args.footage or ("portraits" if args.model == "builtin:face" else "street")
    wanted = args.frames + args.held_out
    jpegs = portrait_jpegs(wanted) if footage == "portraits" else vtest_jpegs(wanted, every=args.every)
    if len(jpegs) < args.frames + args.held_out:
        p.error(f"vtest.avi gives {len(jpegs)} frames at --every {args.every}; run `make assets`, or ask for fewer")
    calibration, held_out = jpegs[: args.frames], jpegs[args.frames:]
    parent = load_model(ov.Core(), args.model)
    started = time.perf_counter()
    try:
        int8 = replace(parent, name=f"{parent.name} (INT8)", model=quantize(parent, calibration))
    except ModelError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    print(f"quantized {args.model} on {len(calibration)} frames in {time.perf_counter() - started:.1f} s")
    result = compare(parent, int8, held_out, seconds=args.seconds)
    print(
        f"held-out frames: {result.frames}; detections fp32 {result.reference_detections}, "
        f"int8 {result.candidate_detections}; precision {result.precision} recall {result.recall} "
        f"mean score shift {result.mean_score_shift}"
    )
    print(f"int8_fps={result.candidate_fps} fp32_fps={result.reference_fps} speedup={result.speedup} f1={result.f1}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
