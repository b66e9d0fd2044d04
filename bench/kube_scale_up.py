"""Kubernetes: how long from an overload to an added worker pod doing work, with the HPA acting on the
control plane's custom metrics API, against the same overload on the local backend in the same run.

Needs the one-node cluster and the kit with its metrics API (`make cluster-up images cluster-deploy`; the
bench brings up and deploys what is missing). A people service with one infer request per worker under a
policy min 1 / max 3 on ei_scale_ratio, target 1, no scale-up window and a 30 s scale-down window; once
its first pod serves and the HPA reads the metric, frames of vtest.avi are pushed through the Redis
NodePort at `--fps` (60 by default), which must be more than one such worker keeps up with: a fast 2-core
machine's does 60 fps in about half its time (its ei_scale_ratio reads 0.55), so pass more there. The HPA
controller decides every 5 s (`make cluster-up HPA_SYNC_PERIOD=5s`; Kubernetes' default is 15 s).

Figures (times in seconds from the first frame pushed):
  overload_to_decision_s   -> the HPA raised the Deployment's replicas (polled every 0.5 s)
  decision_to_ready_s      that -> an added pod Ready (its Ready condition's time, whole seconds)
  overload_to_working_s    -> the first result an added pod published (its ts_done)
  stop_to_scale_down_s     the last frame -> the HPA back at 1 replica (its scale-down window is 30 s)
The baseline is bench/local_scale_up.py at the same rate (the supervisor's own autoscaler), run after
the cluster part. Last line: `kube_overload_to_working_s=<x> local_overload_to_working_s=<y> ratio=<x/y>`.

    .venv/bin/python bench/kube_scale_up.py [--fps 150]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.processes import wait_until  # noqa: E402
from inference_worker import protocol  # noqa: E402
from scripts.kube import deploy_local  # noqa: E402
from scripts.kube import node as kube_node  # noqa: E402
from tests.cluster.support import (  # noqa: E402
    Kubectl, ResultReader, builtin_model, deployed_kit, is_ready, make, pods_of, remove,
)
from tests.support import frame_bytes, vtest_jpegs  # noqa: E402

SERVICE, POLICY = "rush", "rush-burst"
HPA = f"/apis/autoscaling/v2beta2/namespaces/{deploy_local.NAMESPACE}/horizontalpodautoscalers/ei-worker-{SERVICE}"


def desired(kubectl: Kubectl) -> int:
    return json.loads(kubectl.run("get", "--raw", HPA).stdout)["status"].get("desiredReplicas") or 0


def ready_since(pod: dict) -> float:
    ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    return datetime.fromisoformat(ready["lastTransitionTime"]).timestamp()


def on_the_cluster(fps: float) -> float:
    api, kubectl, client = deployed_kit()
    remove(api, "services", SERVICE)
    make(api, "policies", {"name": POLICY, "min_replicas": 1, "max_replicas": 3, "metric": "scale_ratio",
                           "target_value": 1.0, "scale_up_window_seconds": 0, "scale_down_window_seconds": 30})
    make(api, "services", {"name": SERVICE, "queue": SERVICE, "model": builtin_model(api, "builtin:people"),
                           "infer_requests": 1, "scaling_policy": POLICY})
    selector = pods_of("inference-worker", SERVICE)
    jpegs, stop = vtest_jpegs(120), threading.Event()
    try:
        first = wait_until(lambda: kubectl.ready_pods(selector), 300, "the first pod", interval=1)[0]["metadata"]["name"]
        wait_until(lambda: '"ScalingActive","status":"True"' in kubectl.run("get", "--raw", HPA).stdout.replace(" ", ""),
                   120, "the HPA reading the metric", interval=1)
        reader = ResultReader(client, SERVICE)
        pushed = [time.time()]

        def produce() -> None:
            key, start, seq = protocol.frames_key(SERVICE), time.monotonic(), 0
            while not stop.is_set():
                stop.wait(max(0.0, start + seq / fps - time.monotonic()))
                client.rpush(key, frame_bytes(SERVICE, seq, jpegs[seq % len(jpegs)]))
                pushed.append(time.time())
                seq += 1

        producer = threading.Thread(target=produce, daemon=True)
        overload = time.time()
        producer.start()
        wait_until(lambda: desired(kubectl) >= 2, 300, "the HPA's scale-up", interval=0.5)
        decided = time.time()
        added = wait_until(lambda: [p for p in kubectl.pods(selector) if p["metadata"]["name"] != first and is_ready(p)],
                           300, "an added Ready pod", interval=0.5)
        result = wait_until(lambda: next((r for r in reader.got if r["worker"] != first), None), 120,
                            "an added pod's first result", interval=0.2)
        working = result["ts_done"] - overload
        stop.set()
        producer.join(5)
        stopped = pushed[-1]
        wait_until(lambda: desired(kubectl) == 1, 300, "the HPA's scale-down", interval=0.5)
        scaled_down = time.time()
        reader.stop()
        described = kubectl.run("describe", "hpa", f"ei-worker-{SERVICE}").stdout
        metric = re.search(r'"metricName":"ei_scale_ratio","currentAverageValue":"[^"]+"|"ei_scale_ratio" on pods:.*',
                           described)
        events = api.get("/api/scaling-events/", params={"service": SERVICE}).json()["results"]
        for event in sorted(events, key=lambda e: e["time"])[-2:]:
            print(f"scaling event: {event['from_replicas']} -> {event['to_replicas']} at {event['metric_value']} "
                  f"({event['reason']})")
        print(f"kubectl describe hpa: {metric.group(0) if metric else '(no metric line)'}")
        print(f"kube: overload_to_decision_s={decided - overload:.2f} "
              f"decision_to_ready_s={min(map(ready_since, added)) - decided:.2f} "
              f"overload_to_working_s={working:.2f} stop_to_scale_down_s={scaled_down - stopped:.2f} "
              f"hpa_sync_period={kube_node.HPA_SYNC_PERIOD}", flush=True)
        return working
    finally:
        stop.set()
        remove(api, "services", SERVICE)
        remove(api, "policies", POLICY)


def on_one_machine(fps: float) -> float:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "local_scale_up.py"), "--fps", str(fps)],
                          cwd=REPO, capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if "overload_to_working_s=" in line)
    print(f"local: {line}", flush=True)
    return float(re.search(r"overload_to_working_s=([\d.]+)", line).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=60, help="frames per second pushed (default 60)")
    args = parser.parse_args()
    kube = on_the_cluster(args.fps)
    local = on_one_machine(args.fps)
    print(f"kube_overload_to_working_s={kube:.2f} local_overload_to_working_s={local:.2f} ratio={kube / local:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
