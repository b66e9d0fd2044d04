"""``python -m inference_worker``: every option is a flag with an environment-variable fallback."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from inference_worker import protocol
from inference_worker.runtime import DEFAULT_REDIS_URL, env


def _name(value: str) -> str:
    if not protocol.valid_name(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid name (letters, digits, '_', '.', '-'; 64 at most)")
    return value


def _label_selection(value: str) -> tuple[str, ...]:
    """Names may hold spaces ("traffic light"), so only commas separate them; empty: (), the model's default."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inference_worker", description="OpenVINO inference worker")
    p.add_argument("--queue", type=_name, default=os.environ.get("EI_QUEUE"), help="frame queue to serve [EI_QUEUE]")
    p.add_argument("--model", default=env("EI_MODEL", ""),
                   help="builtin:face, builtin:people, builtin:vehicles, a model file (.xml, .onnx, .tflite, .pb) or its http(s) URL [EI_MODEL]")
    p.add_argument("--model-sha256", default=env("EI_MODEL_SHA256", ""),
                   help="sha256 of the file at a --model URL; the download must match [EI_MODEL_SHA256]")
    p.add_argument("--weights-url", default=env("EI_WEIGHTS_URL", ""),
                   help="URL of the .bin of an IR .xml given by URL [EI_WEIGHTS_URL]")
    p.add_argument("--weights-sha256", default=env("EI_WEIGHTS_SHA256", ""),
                   help="sha256 of the file at --weights-url [EI_WEIGHTS_SHA256]")
    p.add_argument("--format", choices=("auto", *protocol.OUTPUT_FAMILIES), default=env("EI_FORMAT", "auto"),
                   help="output family; auto tells it from the model [EI_FORMAT]")
    p.add_argument("--labels", default=env("EI_LABELS", ""), help="comma-separated label names by class id [EI_LABELS]")
    p.add_argument("--keep-labels", type=_label_selection, default=env("EI_KEEP_LABELS", ""),
                   help="comma-separated label names to report, e.g. 'person,traffic light'; empty = the model's "
                        "default selection (builtin:vehicles: person, bicycle, car, motorcycle, bus, truck; "
                        "others: all) [EI_KEEP_LABELS]")
    p.add_argument("--device", default=env("EI_DEVICE", "CPU"), help="CPU, GPU or AUTO [EI_DEVICE]")
    p.add_argument("--requests", type=int, default=int(env("EI_REQUESTS", "0")), help="infer requests; 0 = twice what the device suggests [EI_REQUESTS]")
    p.add_argument("--decode-threads", type=int, default=int(env("EI_DECODE_THREADS", "0")), help="JPEG decoding threads; 0 = one per core [EI_DECODE_THREADS]")
    p.add_argument("--threshold", type=float, default=float(env("EI_THRESHOLD", "-1")), help="minimum score; default: the model's own [EI_THRESHOLD]")
    p.add_argument("--max-age", type=float, default=float(env("EI_MAX_AGE", "1.0")), help="drop frames older than this many seconds when popped [EI_MAX_AGE]")
    p.add_argument("--metrics-host", default=env("EI_METRICS_HOST", "0.0.0.0"),
                   help="address the Prometheus endpoint listens on; 127.0.0.1 keeps it on this machine [EI_METRICS_HOST]")
    p.add_argument("--metrics-port", type=int, default=int(env("EI_METRICS_PORT", "8000")), help="Prometheus port; 0 = any free port, -1 = off [EI_METRICS_PORT]")
    p.add_argument("--metrics-window", type=float, default=float(env("EI_METRICS_WINDOW", "5")), help="sliding window of the gauges, seconds [EI_METRICS_WINDOW]")
    p.add_argument("--result-maxlen", type=int, default=int(env("EI_RESULT_MAXLEN", "100")), help="results kept per stream [EI_RESULT_MAXLEN]")
    p.add_argument("--preview-width", type=int, default=int(env("EI_PREVIEW_WIDTH", str(protocol.PREVIEW_WIDTH))),
                   help="a smaller copy of each wider frame for dashboard grids, this many pixels wide; 0 = none [EI_PREVIEW_WIDTH]")
    p.add_argument("--worker-id", type=_name, default=os.environ.get("EI_WORKER_ID"), help="default: host-pid [EI_WORKER_ID]")
    p.add_argument("--cache-dir", type=Path, default=None, help="converted and downloaded models [EI_CACHE_DIR]")
    p.add_argument("--redis", default=env("REDIS_URL", DEFAULT_REDIS_URL), help="[REDIS_URL]")
    args = p.parse_args(argv)
    if not args.queue or not args.model:
        p.error("--queue and --model are required (or EI_QUEUE and EI_MODEL)")
    if args.threshold != -1 and not 0 < args.threshold < 1:
        p.error("--threshold must be between 0 and 1")
    if args.max_age <= 0 or args.metrics_window <= 0 or args.result_maxlen < 1 or args.requests < 0 or args.decode_threads < 0:
        p.error("--max-age, --metrics-window, --result-maxlen must be positive; --requests, --decode-threads not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from inference_worker.runtime import StopFlag, redis_client, setup_logging

    log = setup_logging("worker")
    stop = StopFlag().install()

    # OpenVINO is imported only now, so --help and argument errors stay instant.
    from prometheus_client import start_http_server

    from inference_worker.engine import Engine
    from inference_worker.model_fetch import TOKEN_ENV, local_model
    from inference_worker.model_store import ModelError, default_cache_dir, load_model, openvino_error, shared_core
    from inference_worker.worker import Worker, WorkerConfig, default_worker_id

    core = shared_core()
    try:
        model = local_model(
            args.model, sha256=args.model_sha256, weights_url=args.weights_url, weights_sha256=args.weights_sha256,
            cache_dir=args.cache_dir or default_cache_dir(), token=os.environ.get(TOKEN_ENV, ""),
        )
        loaded = load_model(core, model, args.cache_dir)
        labels = tuple(label.strip() for label in args.labels.split(",")) if args.labels else ()

        def engine_factory(on_result):
            return Engine(
                loaded, core=core, device=args.device, requests=args.requests,
                threshold=None if args.threshold == -1 else args.threshold,
                family=None if args.format == "auto" else args.format, labels=labels, keep=args.keep_labels,
                on_result=on_result,
            )

        config = WorkerConfig(
            queue=args.queue, model_name=loaded.name, device=args.device,
            worker_id=args.worker_id or default_worker_id(), max_age=args.max_age, result_maxlen=args.result_maxlen,
            preview_width=args.preview_width,
        )
        worker = Worker(
            config, engine_factory, redis_client(args.redis), stop,
            window=args.metrics_window, decode_threads=args.decode_threads,
        )
    except ModelError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # e.g. a device OpenVINO does not have
        print(f"worker: cannot compile the model for device {args.device}: {openvino_error(exc)}", file=sys.stderr)
        return 2
    if args.metrics_port >= 0:
        server, _ = start_http_server(args.metrics_port, addr=args.metrics_host, registry=worker.metrics.registry)
        log.info("metrics on http://%s:%d/metrics", args.metrics_host, server.server_port)
    worker.run()
    return 0
