"""What decoding at a smaller JPEG scale costs the detections, and what it saves, on the street video.

In one run, for each model, on every frame of ``vtest.avi`` at the demo's width (as in
``bench/worker_throughput.py``), the same compiled model is fed twice:

(a) baseline: the scale the worker picks (``engine.MAX_UPSCALE``: the smallest 1/2^k scale that
              still covers the model input);
(b) ours:     a smaller scale, allowed to fall short of the input by ``--max-upscale`` (the model's
              own resize scales it up): the candidate that was measured and not adopted.

It prints the decode scale and single-thread decode time of each, and how (b)'s detections agree with
(a)'s (``inference_worker.agreement``: same label and IoU >= 0.5): precision, recall, score shift, and
how far matched boxes moved (mean and p95 of the largest corner shift, in pixels of the frame).
The last line is ``<model>: decode_ms=<b> baseline_decode_ms=<a> ratio=<b/a> f1=<f1> p95_shift_px=<z>``
per model.

    .venv/bin/python bench/decode_scale.py --model builtin:people --model builtin:face
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import openvino as ov
import simplejpeg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.worker_throughput import sample_jpegs  # noqa: E402
from inference_worker.agreement import agreement, matches  # noqa: E402
from inference_worker.engine import MAX_UPSCALE, Engine, decode_factor  # noqa: E402
from inference_worker.model_store import load_model  # noqa: E402


class Found(dict):
    """An engine's ``on_result``: detections by frame index."""

    def __call__(self, index: int, detections: list[dict] | None, _seconds: float) -> None:
        self[index] = detections or []


def detect_all(engine: Engine, found: Found, prepared: list) -> list[list[dict]]:
    with engine:
        for index, item in enumerate(prepared):
            engine.submit(item, index)
    return [found[index] for index in range(len(prepared))]


def decode_ms(engine: Engine, jpegs: list[bytes], size: tuple[int, int]) -> tuple[float, list]:
    width, height = size
    started = time.perf_counter()
    prepared = [engine.prepare(jpeg, width, height) for jpeg in jpegs]
    return (time.perf_counter() - started) / len(jpegs) * 1000, prepared


def corner_shift_px(pairs: list[tuple[dict, dict]], size: tuple[int, int]) -> list[float]:
    width, height = size
    return [max(abs(a - b) * (width if i % 2 == 0 else height) for i, (a, b) in enumerate(zip(ref["box"], new["box"])))
            for ref, new in pairs]


def compare(core: ov.Core, model: str, jpegs: list[bytes], max_upscale: float) -> str:
    height, width, _, _ = simplejpeg.decode_jpeg_header(jpegs[0])
    size = (width, height)
    loaded = load_model(core, model)
    our_found, base_found = Found(), Found()
    ours = Engine(loaded, core=core, max_upscale=max_upscale, on_result=our_found)
    baseline = Engine(loaded, core=core, on_result=base_found)
    factors = {name: decode_factor(width, height, e.width, e.height, letterbox=e.letterbox, max_upscale=e.max_upscale)
               for name, e in (("ours", ours), ("baseline", baseline))}
    base_ms, base_prepared = decode_ms(baseline, jpegs, size)
    our_ms, our_prepared = decode_ms(ours, jpegs, size)
    reference = detect_all(baseline, base_found, base_prepared)
    candidate = detect_all(ours, our_found, our_prepared)
    agreed = agreement(reference, candidate)
    shifts = corner_shift_px([p for ref, new in zip(reference, candidate) for p in matches(ref, new)], size)
    p95 = statistics.quantiles(shifts, n=20)[18] if len(shifts) >= 2 else float("nan")
    print(f"{model} ({ours.width}x{ours.height} input, {'letterboxed' if ours.letterbox else 'resized'}), "
          f"{len(jpegs)} frames of {width}x{height}:")
    for name, ms in (("baseline", base_ms), ("ours", our_ms)):
        factor = factors[name]
        print(f"  {name:8} decode at 1/{factor} ({width // factor}x{height // factor}): {ms:.3f} ms per frame")
    print(f"  detections: baseline {agreed.reference}, ours {agreed.candidate}, matched {agreed.matched}; "
          f"precision {agreed.precision:.3f} recall {agreed.recall:.3f} f1 {agreed.f1:.3f}, "
          f"score shift {agreed.mean_score_shift if agreed.mean_score_shift is not None else float('nan'):+.4f}")
    if shifts:
        print(f"  matched boxes moved: mean {statistics.fmean(shifts):.1f} px, p95 {p95:.1f} px, max {max(shifts):.1f} px "
              f"(largest corner shift)", flush=True)
    return (f"{model}: decode_ms={our_ms:.3f} baseline_decode_ms={base_ms:.3f} ratio={our_ms / base_ms:.3f} "
            f"f1={agreed.f1:.3f} p95_shift_px={p95:.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", help="repeatable; default: the people and face built-ins")
    p.add_argument("--width", type=int, default=640, help="frame width, as the producer's --max-width")
    p.add_argument("--frames", type=int, default=795, help="frames of the street video (795: all of it)")
    p.add_argument("--max-upscale", type=float, default=1.25, help="how far (b) may fall short of the input")
    args = p.parse_args()
    jpegs = sample_jpegs(args.frames, args.width)
    print(f"max upscale: baseline {MAX_UPSCALE}, ours {args.max_upscale}", flush=True)
    core = ov.Core()
    lines = [compare(core, model, jpegs, args.max_upscale) for model in args.model or ["builtin:people", "builtin:face"]]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
