"""``python -m inference_worker.monitor``: one line per second with each worker's figures."""

from __future__ import annotations

import argparse
import time

from inference_worker.fleet import live_workers
from inference_worker.runtime import DEFAULT_REDIS_URL, REDIS_ERRORS, Backoff, StopFlag, env, redis_client, setup_logging


def short_id(worker_id: str, width: int = 24) -> str:
    """Worker ids end in what tells them apart (a slot, a pid), so a long one keeps its end."""
    return worker_id if len(worker_id) <= width else "…" + worker_id[1 - width:]


def format_line(workers: list[dict]) -> str:
    if not workers:
        return "no workers"
    return " | ".join(
        f"{w['queue']}/{short_id(w['worker'])} infer {w['infer_fps']:5.1f} fps drop {w['drop_fps']:5.1f} fps "
        f"ratio {w['scale_ratio']:4.2f} p50 {w['latency_p50_ms']:5.0f} ms"
        for w in workers
    )


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m inference_worker.monitor", description=__doc__)
    p.add_argument("--redis", default=env("REDIS_URL", DEFAULT_REDIS_URL))
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args()
    log = setup_logging("monitor")
    stop = StopFlag().install()
    client = redis_client(args.redis)
    backoff = Backoff("redis", log)
    while not stop.is_set():
        try:
            print(time.strftime("%H:%M:%S"), format_line(live_workers(client)), flush=True)
            backoff.succeeded()
        except REDIS_ERRORS as exc:
            backoff.note(exc)
        stop.wait(args.interval)


if __name__ == "__main__":
    main()
