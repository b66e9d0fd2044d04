"""Local backend: how long from an overload to an added worker doing work.

One run, on a private Redis and a throwaway SQLite database: the supervisor runs a people service (one
infer request per worker, policy min 1 / max 3, scale ratio target 1.0, no scale-up window). Once its
first worker has settled, a file stream at 120 fps (``--fps``) is enabled, which one such worker cannot
keep up with.

Figures, all from the same run:
  overload_to_decision_s   first frame of the stream -> the autoscaler's scale-up event
  decision_to_ready_s      that event -> the added worker ready (process started, model loaded)
  overload_to_working_s    first frame -> the added worker's first heartbeat with inferences (heartbeats
                           come once a second, so this is an upper bound): what a user waits for
  baseline_cold_start_s    a worker started by hand, spawn -> ready, on the same machine in the same run
  ratio                    overload_to_working_s / baseline_cold_start_s (what the autoscaler adds on top
                           of starting a worker at all)

Then whether the scale-out helped, as the supervisor judges it on one machine (it holds a pool whose last
scale-out raised throughput by less than 10 % while the cores are >= 90 % busy):
  alone_fps                the first worker's best infer fps while it was alone under the overload (its
                           5 s sliding window only partly filled by then: a lower bound)
  settled_fps              every replica of the scale-out past its warm-up: the pool's infer fps together
  machine_cpu_pct          the machine's CPU use over the settled reading's window (/proc/stat)
and any event after the scale-out (a "not scaling: the cores are full" hold says so with its figures).

    .venv/bin/python bench/local_scale_up.py [--fps 120]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.processes import free_port, wait_until  # noqa: E402
from harness.redis_server import pings, redis_server_command  # noqa: E402
from tests.support import VTEST  # noqa: E402

WORKDIR = Path(tempfile.mkdtemp(prefix="ei-bench-scale-"))
REDIS_PORT = free_port()
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
ENV = {
    **os.environ, "REDIS_URL": REDIS_URL, "EI_DATA_DIR": str(WORKDIR),
    "DATABASE_URL": f"sqlite:///{WORKDIR / 'db.sqlite3'}", "DJANGO_SETTINGS_MODULE": "controlplane.config.settings",
}
os.environ.update(ENV)

import django  # noqa: E402
from django.db.models import F  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from controlplane.registry.models import InferenceModel  # noqa: E402
from controlplane.inference.actions import inference_service_create  # noqa: E402
from controlplane.orchestration.reconciler import reconcile  # noqa: E402
from controlplane.orchestration.supervisor.sampling import WARMUP, MachineCpu  # noqa: E402
from controlplane.scaling.models import ScalingEvent  # noqa: E402
from controlplane.scaling.actions import policy_create  # noqa: E402
from controlplane.streams.actions import stream_create  # noqa: E402
from inference_worker import protocol  # noqa: E402
from inference_worker.fleet import live_workers  # noqa: E402


def ready(client: redis.Redis, worker: str) -> dict | None:
    return next((w for w in live_workers(client) if w["worker"] == worker), None)


def working(client: redis.Redis, worker: str) -> dict | None:
    found = ready(client, worker)
    return found if found and found["inferred"] > 0 else None


def _cold_start(client: redis.Redis) -> float:
    """Spawn -> ready (model loaded, serving) of a people worker started by hand."""
    spawned = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "inference_worker", "--queue", "baseline", "--model", "builtin:people",
                             "--worker-id", "baseline", "--metrics-port", "-1", "--requests", "1", "--redis", REDIS_URL],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return wait_until(lambda: ready(client, "baseline"), 180, "the baseline worker", interval=0.02)["started_at"] - spawned
    finally:
        proc.terminate()
        proc.wait(60)


def _settled_figures(client: redis.Redis, replicas: int, alone_fps: float) -> str:
    """The pool's infer fps once every replica is past its warm-up and a full sliding window (5 s) on."""
    ids = [f"people-{index}" for index in range(replicas)]
    beats = wait_until(lambda: (found := [ready(client, worker) for worker in ids]) and all(found) and found, 180,
                       "every replica's heartbeat")
    time.sleep(max(0.0, max(beat["started_at"] for beat in beats) + WARMUP - time.time()))
    cpu = MachineCpu()
    cpu.percent()
    time.sleep(5.0)
    machine = cpu.percent()
    beats = [ready(client, worker) or {"infer_fps": 0.0} for worker in ids]
    together = sum(beat["infer_fps"] for beat in beats)
    each = " + ".join(f"{beat['infer_fps']:.1f}" for beat in beats)
    return (f"alone_fps={alone_fps:.1f} settled_fps={together:.1f} ({each} on {replicas} workers) "
            f"machine_cpu_pct={machine if machine is None else round(machine)} cores={os.cpu_count()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=int, default=120, help="the stream's rate (default 120)")
    options = parser.parse_args()
    redis_proc = subprocess.Popen(redis_server_command(REDIS_PORT, WORKDIR), stdout=subprocess.DEVNULL)
    supervisor = None
    try:
        wait_until(lambda: pings(REDIS_URL), 10, "redis")
        client = redis.Redis.from_url(REDIS_URL)
        call_command("migrate", verbosity=0)
        supervisor = subprocess.Popen([sys.executable, "manage.py", "supervise", "--autoscale-interval", "1"],
                                      cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        policy = policy_create(name="bench", min_replicas=1, max_replicas=3, metric="scale_ratio", target_value=1.0,
                               scale_up_window_seconds=0, scale_down_window_seconds=300)
        inference_service_create(name="people", queue="people", scaling_policy=policy, infer_requests=1,
                                 model=InferenceModel.objects.get(builtin="builtin:people"))
        reconcile()
        wait_until(lambda: ready(client, "people-0"), 180, "the first worker")
        cold_start = _cold_start(client)
        time.sleep(WARMUP + 2)  # past the autoscaler's warm-up, as a service that has been running a while

        stream_create(name="rush", source_kind="file", source=str(VTEST), queue="people", target_fps=options.fps)
        reconcile()
        wait_until(lambda: client.exists(protocol.stream_stats_key("rush")), 60, "the stream's first frame", interval=0.01)
        overload = time.time()
        alone = []  # the first worker's infer fps while no added worker infers

        def added_working():
            found = working(client, "people-1")
            if found is None and (first := ready(client, "people-0")):
                alone.append(first["infer_fps"])
            return found

        added = wait_until(added_working, 180, "the added worker", interval=0.02)
        event = ScalingEvent.objects.filter(to_replicas__gt=F("from_replicas")).order_by("time").first()
        decided = event.time.timestamp()
        print(f"scale-up event: {event.from_replicas} -> {event.to_replicas} at metric {event.metric_value} "
              f"({event.reason})")
        total = added["updated_at"] - overload
        print(f"overload_to_decision_s={decided - overload:.2f} decision_to_ready_s={added['started_at'] - decided:.2f} "
              f"overload_to_working_s={total:.2f} baseline_cold_start_s={cold_start:.2f} ratio={total / cold_start:.2f}")
        print(_settled_figures(client, event.to_replicas, max(alone, default=0.0)))
        for later in ScalingEvent.objects.filter(time__gt=event.time).order_by("time"):
            print(f"later event: {later.from_replicas} -> {later.to_replicas} ({later.reason})")
        return 0
    finally:
        if supervisor is not None:
            supervisor.terminate()
            supervisor.wait(90)
        redis_proc.terminate()
        redis_proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
