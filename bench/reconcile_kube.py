"""Kubernetes backend: how long a reconcile pass takes for 100 inference services, and that the second
pass writes nothing.

Against a real kube-apiserver: the one `make kube-up` left in .kube/, else a private one (API server
only: no controllers writing status meanwhile) stopped at the end. A fresh namespace, a throwaway
migrated SQLite database, 100 services each with a scaling policy (Deployment + Service + HPA each).

Figures, from one run:
  first_pass_s   reconcile() that creates every object (a read for each name, then a server-side apply)
  noop_pass_s    reconcile() right after: three list calls and compares, no writes
  objects        objects with our labels in the namespace afterwards
  writes_first   writes of the first pass; writes_noop those of the second (0 is the point)

    .venv/bin/python bench/reconcile_kube.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SERVICES = 100
WORKDIR = Path(tempfile.mkdtemp(prefix="ei-bench-kube-"))
os.environ.update({
    "EI_DATA_DIR": str(WORKDIR), "DATABASE_URL": f"sqlite:///{WORKDIR / 'db.sqlite3'}",
    "DJANGO_SETTINGS_MODULE": "controlplane.config.settings",
})

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from kubernetes import client  # noqa: E402

from controlplane.registry.models import InferenceModel  # noqa: E402
from controlplane.inference.actions import inference_service_create  # noqa: E402
from controlplane.orchestration.backends.kubernetes import KubernetesBackend  # noqa: E402
from controlplane.orchestration.backends.kubernetes_client import api_client  # noqa: E402
from controlplane.orchestration.manifests import PodConfig  # noqa: E402
from controlplane.orchestration.reconciler import reconcile  # noqa: E402
from controlplane.scaling.actions import policy_create  # noqa: E402
from scripts.kube.cluster import DEFAULT_DIR, Cluster  # noqa: E402


def timed_pass(backend: KubernetesBackend) -> tuple[float, list[str]]:
    started = time.perf_counter()
    report = reconcile(backend=backend)
    elapsed = time.perf_counter() - started
    if report.errors:
        raise SystemExit(f"reconcile failed: {report.errors}")
    return elapsed, report.actions


def main() -> int:
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")  # the test cluster's own certificate
    call_command("migrate", verbosity=0)
    cluster = Cluster.running(DEFAULT_DIR)
    private = cluster is None
    if private:
        cluster = Cluster.start(WORKDIR / "kube", controllers=False)
    api = api_client(cluster.kubeconfig)
    namespace = f"ei-bench-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        people = InferenceModel.objects.get(builtin="builtin:people")
        for index in range(SERVICES):
            policy = policy_create(name=f"policy-{index}", min_replicas=1, max_replicas=4)
            inference_service_create(name=f"people-{index}", queue=f"people-{index}", model=people,
                                     scaling_policy=policy)
        backend = KubernetesBackend(api, namespace=namespace, pod_config=PodConfig(
            image="elastic-inference/worker:bench", secret="elastic-inference-worker",
            control_plane_url="http://elastic-inference-controlplane:8000"))
        first_s, first = timed_pass(backend)
        noop_s, noop = timed_pass(backend)
        objects = sum(len(seen.detail) for seen in backend.observe().values())
        print(f"services={SERVICES} first_pass_s={first_s:.2f} noop_pass_s={noop_s:.3f} objects={objects} "
              f"writes_first={len(first)} writes_noop={len(noop)}")
    finally:
        core.delete_namespace(namespace)
        api.close()
        if private:
            cluster.stop()
        shutil.rmtree(WORKDIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
