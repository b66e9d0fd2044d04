"""Helpers of the cluster tests: kubectl with the cluster's kubeconfig, the control plane's API over HTTP,
records made afresh through it, frames pushed at a rate, and a reader that collects every result a stream
gets while a test runs."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from harness.processes import http_ok, wait_until
from inference_worker import protocol
from scripts.kube.deploy_local import REPO
from tests.support import frame_bytes

KUBECONFIG = REPO / ".kube" / "cluster.config"
IMAGES = ("controlplane", "worker", "redis", "postgres")
IMAGE_CACHE = Path(os.environ.get("EI_IMAGE_CACHE", Path.home() / ".cache" / "elastic-inference" / "images"))


def image_archives() -> list[Path]:
    """The OCI archives `make images` (scripts/images.sh) saves; `make test` builds them before pytest."""
    archives = [IMAGE_CACHE / f"{name}.tar" for name in IMAGES]
    missing = [str(path) for path in archives if not path.exists()]
    assert not missing, f"no image archive {', '.join(missing)}: run `make images`"
    return archives


@dataclass(frozen=True)
class Kubectl:
    kubeconfig: Path
    namespace: str

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(
            ["kubectl", f"--kubeconfig={self.kubeconfig}", "-n", self.namespace, *args],
            capture_output=True, text=True, timeout=timeout,
        )
        assert not check or done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr or done.stdout}"
        return done

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def pods(self, selector: str) -> list[dict]:
        return self.json("get", "pods", "-l", selector)["items"]

    def ready_pods(self, selector: str) -> list[dict]:
        return [pod for pod in self.pods(selector) if is_ready(pod)]


def is_ready(pod: dict) -> bool:
    if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") != "Running":
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


@dataclass
class ControlPlaneAPI:
    """The control plane's REST API through its Service (the NodePort), with an operator's token."""

    base: str
    session: requests.Session

    @classmethod
    def login(cls, base: str, username: str, password: str) -> ControlPlaneAPI:
        session = requests.Session()
        wait_until(lambda: http_ok(f"{base}/api/schema/"), 60, "the control plane's API through its Service", interval=1)
        response = session.post(f"{base}/api/auth/token/", data={"username": username, "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        session.headers["Authorization"] = f"Token {response.json()['token']}"
        return cls(base, session)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kwargs)

    def post(self, path: str, body: dict | None = None, **kwargs) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=60, **kwargs)

    def patch(self, path: str, body: dict) -> requests.Response:
        return self.session.patch(self.base + path, json=body, timeout=30)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.base + path, timeout=30)

    def created(self, path: str, body: dict, **kwargs) -> dict:
        response = self.post(path, body, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()


@dataclass
class ResultReader:
    """Reads a stream's results from the cluster's Redis in a thread, from now on, until stopped.

    The result stream keeps only the newest results (capped), so counting what a run published means
    reading as it goes. A Redis that goes away for a while is ridden out: the reader retries.
    """

    client: redis.Redis
    stream: str
    got: list[dict] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        key, last = protocol.results_key(self.stream), "$"
        while not self._stop.is_set():
            try:
                for _, entries in self.client.xread({key: last}, block=500) or []:
                    for entry_id, fields in entries:
                        last = entry_id
                        self.got.append(protocol.decode_result(fields)[0])
            except redis.RedisError:
                self._stop.wait(0.5)

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(5)
        return self.got


def until(predicate, timeout: float, what: str, interval: float = 1):
    """wait_until at a pace that suits kubectl and the API (each check is a process or a request)."""
    return wait_until(predicate, timeout, what, interval=interval)


def pods_of(kind: str, instance: str) -> str:
    return f"app.kubernetes.io/name={kind},app.kubernetes.io/instance={instance}"


def builtin_model(api, builtin: str) -> int:
    models = api.get("/api/models/", params={"page_size": 100}).json()["results"]
    return next(model["id"] for model in models if model.get("builtin") == builtin)


def wait_for_service(api, kubectl, name: str, replicas: int = 1, timeout: float = 240) -> dict:
    """Until the service's worker pods are Ready and the control plane says so. A status on the way may
    be `failed` for a moment (a fresh kubelet's "failed to sync secret cache" is retried by itself); the
    last one seen is what a timeout reports."""
    seen = {}

    def ready() -> bool:
        seen.update(api.get(f"/api/services/{name}/").json())
        return seen["status"] == "ready" and len(kubectl.ready_pods(pods_of("inference-worker", name))) == replicas

    try:
        until(ready, timeout, f"{replicas} ready worker pod(s) of {name}")
    except TimeoutError as timeout_error:
        raise AssertionError(f"{timeout_error}; the service is {seen['status']}: {seen['status_message']}") from None
    return seen


def push(client, queue: str, stream: str, jpegs: list[bytes], *, fps: float, first_seq: int = 0) -> int:
    """Frames into a queue at a fixed rate, stamped now, as a producer on the node does; returns the count."""
    key = protocol.frames_key(queue)
    start = time.monotonic()
    for i, jpeg in enumerate(jpegs):
        time.sleep(max(0.0, start + i / fps - time.monotonic()))
        client.rpush(key, frame_bytes(stream, first_seq + i, jpeg))
    return len(jpegs)


def remove(api, kind: str, name: str) -> None:
    response = api.delete(f"/api/{kind}/{name}/")
    assert response.status_code in (204, 404), response.text


def make(api, kind: str, body: dict) -> dict:
    """Create a record afresh: the cluster may be one that an earlier, interrupted run left up."""
    remove(api, kind, body["name"])
    return api.created(f"/api/{kind}/", body)


def deployed_kit() -> tuple[ControlPlaneAPI, Kubectl, redis.Redis]:
    """For a bench: the node up with our images and the kit deployed (each only if missing), and the
    clients a run needs: the control plane's API, kubectl in its namespace, Redis through the NodePort."""
    from inference_worker.runtime import redis_client
    from scripts.kube import deploy_local
    from scripts.kube import node as kube_node

    kube_node.up(KUBECONFIG)
    kube_node.load(image_archives())
    kit = deploy_local.deploy(KUBECONFIG)
    return (ControlPlaneAPI.login(kit.url, kit.admin_user, kit.admin_password),
            Kubectl(KUBECONFIG, deploy_local.NAMESPACE), redis_client(kit.redis_url))
