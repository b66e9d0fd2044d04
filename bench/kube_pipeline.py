"""Kubernetes: what worker pods deliver on the real one-node cluster, against the same worker as a local
process, in one run.

Needs the cluster and the kit (`make cluster-up images cluster-deploy`; the bench brings up and deploys what
is missing). A people service with one infer request per worker is held at 1, 2 and then 3 pods (a policy
with min = max = N: the HPA sets the replicas, the reconciler leaves them alone); for each, frames of
vtest.avi are pushed through the Redis NodePort at a fixed rate for a fixed time, stamped with the time
they were pushed, and every result is read back. Then the same worker runs as a local process on a
private Redis of its own and gets the same frames at the same rate.

Figures, per run:
  delivered_fps     results per second over the push window (frames a worker dropped as too old are
                    not delivered)
  p50_ms, p99_ms    capture (push) to result (the worker's ts_done), per result
The last line compares one pod with one local process: `pods_fps=<x> local_fps=<y> ratio=<x/y>`.

    .venv/bin/python bench/kube_pipeline.py [--fps 60] [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.processes import Proc, free_port, wait_until  # noqa: E402
from harness.redis_server import start_redis_server  # noqa: E402
from inference_worker import protocol  # noqa: E402
from inference_worker.fleet import live_workers  # noqa: E402
from inference_worker.runtime import redis_client  # noqa: E402
from tests.cluster.support import ResultReader, deployed_kit  # noqa: E402
from tests.support import frame_bytes, vtest_jpegs, worker_command  # noqa: E402

QUEUE = "bench"


def run_load(client, jpegs: list[bytes], fps: float, seconds: float, stream: str) -> dict:
    """Push at ``fps`` for ``seconds``; read every result back; the figures of that run."""
    reader = ResultReader(client, stream)
    key, total = protocol.frames_key(QUEUE), int(fps * seconds)
    start = time.monotonic()
    for seq in range(total):
        time.sleep(max(0.0, start + seq / fps - time.monotonic()))
        client.rpush(key, frame_bytes(stream, seq, jpegs[seq % len(jpegs)]))
    window = time.monotonic() - start
    time.sleep(3)  # the frames still in the workers
    got = reader.stop()
    latencies = sorted((r["ts_done"] - r["ts_capture"]) * 1000 for r in got)
    return {
        "delivered_fps": len(got) / window,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "delivered": len(got), "pushed": total,
    }


def show(label: str, figures: dict) -> None:
    print(f"{label:<10} pushed={figures['pushed']} delivered={figures['delivered']} "
          f"delivered_fps={figures['delivered_fps']:.1f} p50_ms={figures['p50_ms']:.0f} p99_ms={figures['p99_ms']:.0f}",
          flush=True)


def on_the_cluster(jpegs, fps, seconds) -> dict[int, dict]:
    api, kubectl, client = deployed_kit()
    people = next(m["id"] for m in api.get("/api/models/", params={"page_size": 100}).json()["results"]
                  if m["builtin"] == "builtin:people")
    api.delete("/api/services/bench/")  # left over from a run that was stopped
    api.delete("/api/policies/bench/")
    api.created("/api/policies/", {"name": "bench", "min_replicas": 1, "max_replicas": 1, "metric": "scale_ratio",
                                   "target_value": 1})
    api.created("/api/services/", {"name": "bench", "queue": QUEUE, "model": people, "infer_requests": 1,
                                   "scaling_policy": "bench"})
    selector = "app.kubernetes.io/name=inference-worker,app.kubernetes.io/instance=bench"
    figures = {}
    try:
        for replicas in (1, 2, 3):
            response = api.patch("/api/policies/bench/", {"min_replicas": replicas, "max_replicas": replicas})
            assert response.status_code == 200, response.text
            wait_until(lambda n=replicas: len(kubectl.ready_pods(selector)) == n, 300,
                       f"{replicas} ready bench pods", interval=1)
            run_load(client, jpegs, fps, 3, f"warm{replicas}")  # each new pod's first inferences
            figures[replicas] = run_load(client, jpegs, fps, seconds, f"bench{replicas}")
            show(f"pods={replicas}", figures[replicas])
    finally:
        api.delete("/api/services/bench/")
        api.delete("/api/policies/bench/")
    return figures


def as_a_local_process(jpegs, fps, seconds) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="ei-bench-kube-"))
    port = free_port()
    server = start_redis_server(port, workdir)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis_client(url)
    worker = Proc(worker_command(url, QUEUE, "builtin:people", "--requests", "1"), workdir / "worker.log")
    try:
        wait_until(lambda: live_workers(client), 120, "the local worker's heartbeat", interval=0.5)
        run_load(client, jpegs, fps, 3, "warm")
        figures = run_load(client, jpegs, fps, seconds, "local")
    finally:
        worker.terminate()
        server.terminate()
    show("local", figures)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=60, help="frames pushed per second (default 60)")
    parser.add_argument("--seconds", type=float, default=20, help="push window per run (default 20)")
    options = parser.parse_args()
    jpegs = vtest_jpegs(100, every=7)
    pods = on_the_cluster(jpegs, options.fps, options.seconds)
    local = as_a_local_process(jpegs, options.fps, options.seconds)
    ratio = pods[1]["delivered_fps"] / local["delivered_fps"]
    print(f"pods_fps={pods[1]['delivered_fps']:.1f} local_fps={local['delivered_fps']:.1f} ratio={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
