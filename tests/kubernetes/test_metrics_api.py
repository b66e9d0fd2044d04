"""The custom metrics API (``manage.py serve_metrics_api``) against the test API server: this test plays the
aggregation layer, calling with the cluster's own front-proxy client certificate and identity headers, as
kube-apiserver does; the server reads the front-proxy CA from the cluster, lists pods through it and asks
it for every authorisation (SubjectAccessReview). The full path through a real aggregator and HPA is in
tests/cluster."""

from __future__ import annotations

import http.client
import json
import ssl
import sys
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from harness.processes import Proc, accepts, free_port, wait_until
from inference_worker import protocol
from scripts.kube.pki import make_ca, make_cert
from tests.heartbeats import write_heartbeat

CUSTOM = "/apis/custom.metrics.k8s.io"
HPA = ("system:serviceaccount:kube-system:horizontal-pod-autoscaler",
       ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"])
AGGREGATOR = ("system:kube-aggregator", ["system:masters"])
SELECTOR = "app=ei-worker-people"


class Caller:
    """HTTPS to the metrics API with a client certificate (or none) and the front proxy's headers."""

    def __init__(self, port: int, server_ca: Path, cert: tuple[Path, Path] | None):
        self.port = port
        self.context = ssl.create_default_context(cafile=str(server_ca))
        if cert:
            self.context.load_cert_chain(*map(str, cert))

    def get(self, path: str, identity: tuple[str, list[str]] | None = HPA, method: str = "GET") -> tuple[int, dict]:
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
        try:
            connection.putrequest(method, path)
            if identity:  # as kube-apiserver sends them: one X-Remote-Group line per group
                connection.putheader("X-Remote-User", identity[0])
                for group in identity[1]:
                    connection.putheader("X-Remote-Group", group)
            connection.endheaders()
            reply = connection.getresponse()
            body = reply.read()
            return reply.status, json.loads(body) if reply.getheader("content-type") == "application/json" else body
        finally:
            connection.close()


def _serve(folder: Path, *, redis_url: str, namespace: str, kubeconfig: str) -> tuple[Proc, int]:
    port = free_port()
    proc = Proc([sys.executable, "manage.py", "serve_metrics_api", "--bind", "127.0.0.1", "--port", str(port),
                 "--tls-cert", str(folder / "serving.crt"), "--tls-key", str(folder / "serving.key"),
                 "--kubeconfig", kubeconfig], folder / f"metrics-api-{port}.log",
                {"DJANGO_SETTINGS_MODULE": "controlplane.config.settings", "REDIS_URL": redis_url,
                 "EI_K8S_NAMESPACE": namespace, "EI_DATA_DIR": str(folder), "PYTHONUNBUFFERED": "1"})
    try:
        wait_until(lambda: proc.popen.poll() is not None or accepts(port), 60, "the metrics API to listen")
    except TimeoutError:
        proc.kill()
        raise
    if proc.popen.poll() is not None:
        raise RuntimeError(f"serve_metrics_api exited:\n{proc.output()}")
    return proc, port


@pytest.fixture(scope="module")
def namespace(kube_api):
    name = f"ei-metrics-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"metadata": {"name": name}})
    for pod, app in (("people-a", "ei-worker-people"), ("people-b", "ei-worker-people"), ("face-a", "ei-worker-face")):
        core.create_namespaced_pod(name, {"metadata": {"name": pod, "labels": {"app": app}},
                                          "spec": {"containers": [{"name": "worker", "image": "worker:test"}]}})
    yield name
    core.delete_namespace(name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """The serving certificate, and a CA of nobody's with a client certificate that claims the proxy's name."""
    folder = tmp_path_factory.mktemp("metrics-api")
    make_ca(folder, "serving-ca", "metrics-api-test-ca")
    make_cert(folder, "serving", "localhost", sans=["DNS:localhost", "IP:127.0.0.1"], ca="serving-ca")
    make_ca(folder, "stranger-ca", "someone-else")
    make_cert(folder, "stranger", "front-proxy-client", ca="stranger-ca")
    return folder


@pytest.fixture(scope="module")
def server(pki, namespace, kube_cluster, redis_server):
    proc, port = _serve(pki, redis_url=redis_server["url"], namespace=namespace, kubeconfig=kube_cluster.kubeconfig)
    yield port
    proc.terminate()


@pytest.fixture
def proxy(server, pki, kube_cluster) -> Caller:
    """The aggregation layer: the cluster's front-proxy client certificate."""
    folder = Path(kube_cluster.front_proxy)
    return Caller(server, pki / "serving-ca.crt", (folder / "front-proxy-client.crt", folder / "front-proxy-client.key"))


def test_discovery_lists_the_pod_metrics_and_the_backlog(proxy):
    for version in ("v1beta1", "v1beta2"):
        code, body = proxy.get(f"{CUSTOM}/{version}", AGGREGATOR)
        assert code == 200, body
        assert body["kind"] == "APIResourceList" and body["groupVersion"] == f"custom.metrics.k8s.io/{version}"
        assert {r["name"] for r in body["resources"]} == {"pods/ei_scale_ratio", "pods/ei_drop_fps", "pods/ei_infer_fps"}
        assert all(r["namespaced"] and r["kind"] == "MetricValueList" for r in body["resources"])
    code, body = proxy.get("/apis/external.metrics.k8s.io/v1beta1", AGGREGATOR)
    assert code == 200 and [r["name"] for r in body["resources"]] == ["ei_queue_backlog"]


def test_one_value_per_selected_pod_from_its_own_heartbeat(proxy, r, namespace):
    now = time.time()
    write_heartbeat(r, "people-a", "people", namespace=namespace, scale_ratio=1.25, infer_fps=7.5,
                    window_seconds=5.0, updated_at=round(now, 3))
    write_heartbeat(r, "face-a", "face", namespace=namespace, scale_ratio=3.0)  # not selected by the label
    # a pod of the same name in another namespace: its heartbeat must never stand for ours
    write_heartbeat(r, "people-b", "people", namespace="elsewhere", scale_ratio=9.0)

    code, body = proxy.get(f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/*/ei_scale_ratio?labelSelector={SELECTOR}")
    assert code == 200, body
    assert body["kind"] == "MetricValueList" and body["apiVersion"] == "custom.metrics.k8s.io/v1beta2"
    (item,) = body["items"]  # people-b has no heartbeat of this namespace: left out
    assert item["describedObject"] == {"kind": "Pod", "namespace": namespace, "name": "people-a", "apiVersion": "/v1"}
    assert item["metric"] == {"name": "ei_scale_ratio", "selector": None}
    assert item["value"] == "1250m" and item["windowSeconds"] == 5
    assert item["timestamp"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))

    # as the aggregator forwards it: the * escaped
    code, body = proxy.get(f"{CUSTOM}/v1beta1/namespaces/{namespace}/pods/%2A/ei_infer_fps?labelSelector={SELECTOR}")
    assert code == 200 and [(i["describedObject"]["name"], i["metricName"], i["value"]) for i in body["items"]] == [
        ("people-a", "ei_infer_fps", "7500m")]

    code, body = proxy.get(f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/*/ei_scale_ratio")  # no selector: all
    assert code == 200 and sorted(i["describedObject"]["name"] for i in body["items"]) == ["face-a", "people-a"]

    code, body = proxy.get(f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/face-a/ei_scale_ratio")
    assert code == 200 and [i["value"] for i in body["items"]] == ["3"]
    code, body = proxy.get(f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/people-b/ei_scale_ratio")
    assert code == 404 and body["kind"] == "Status" and "no live heartbeat" in body["message"]


def test_queue_backlog_is_the_frames_waiting(proxy, r, namespace):
    """Asked as an admin: Kubernetes 1.20's HPA role reads no external metrics (the kit's component binds
    that role to it)."""
    r.rpush(protocol.frames_key("people"), b"1", b"2", b"3")
    code, body = proxy.get(f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/ei_queue_backlog"
                           "?labelSelector=queue%3Dpeople", AGGREGATOR)
    assert code == 200, body
    assert [(i["metricLabels"], i["value"]) for i in body["items"]] == [({"queue": "people"}, "3")]
    code, body = proxy.get(f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/ei_queue_backlog"
                           "?labelSelector=tier%3Dgold", AGGREGATOR)
    assert code == 400 and body["reason"] == "BadRequest" and "queue=<name>" in body["message"]


def test_only_the_front_proxy_certificate_is_believed(server, pki, kube_cluster, namespace):
    path = f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/*/ei_scale_ratio"
    proxy_folder = Path(kube_cluster.front_proxy)
    make_cert(pki, "intruder", "intruder", ca="front-proxy-ca", ca_folder=proxy_folder)  # the right CA, wrong name
    callers = {
        "no client certificate": Caller(server, pki / "serving-ca.crt", None),
        "not the front proxy's": Caller(server, pki / "serving-ca.crt", (pki / "stranger.crt", pki / "stranger.key")),
        "is not one of the allowed front-proxy names": Caller(
            server, pki / "serving-ca.crt", (pki / "intruder.crt", pki / "intruder.key")),
    }
    for why, caller in callers.items():
        code, body = caller.get(path, AGGREGATOR)
        assert (code, body["kind"], body["reason"]) == (401, "Status", "Unauthorized"), (why, body)
        assert why in body["message"]

    proxy = Caller(server, pki / "serving-ca.crt", (proxy_folder / "front-proxy-client.crt",
                                                     proxy_folder / "front-proxy-client.key"))
    code, body = proxy.get(path, identity=None)
    assert code == 401 and "sent no user" in body["message"]
    code, body = proxy.get(path, ("jane", ["system:authenticated"]))
    assert (code, body["reason"]) == (403, "Forbidden"), body
    assert body["message"].startswith('user "jane" cannot list resource "pods/ei_scale_ratio" in API group '
                                      f'"custom.metrics.k8s.io" in the namespace "{namespace}"')
    code, _ = proxy.get(path, HPA)  # the HPA controller's own account may read it (its bootstrap role)
    assert code == 200


def test_bad_requests_get_the_apis_own_status(proxy, namespace, r):
    cases = {
        f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/*/ei_nonsense": (404, "NotFound", 'metric "ei_nonsense"'),
        f"{CUSTOM}/v1beta2/namespaces/nowhere/pods/*/ei_scale_ratio": (404, "NotFound", 'namespace "nowhere"'),
        f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/*/ei_scale_ratio?labelSelector=app%20in%20(": (
            400, "BadRequest", "unable to parse requirement"),
        f"{CUSTOM}/v1beta2/namespaces/{namespace}/services/*/ei_scale_ratio": (404, "NotFound", "for namespaces"),
        "/apis/custom.metrics.k8s.io/v2/whatever": (404, "NotFound", "/apis/custom.metrics.k8s.io/v2/whatever"),
    }
    for path, (code, reason, words) in cases.items():
        got, body = proxy.get(path, AGGREGATOR)
        assert (got, body["kind"], body["reason"], body["code"]) == (code, "Status", reason, code), (path, body)
        assert words in body["message"], (path, body["message"])
    got, body = proxy.get(f"{CUSTOM}/v1beta2", AGGREGATOR, method="POST")
    assert (got, body["reason"]) == (405, "MethodNotAllowed")
    got, body = proxy.get("/openapi/v2", ("system:aggregator", []))  # the aggregator's question: none here
    assert (got, body["reason"]) == (404, "NotFound")


def test_health_needs_no_certificate(server, pki):
    code, body = Caller(server, pki / "serving-ca.crt", None).get("/healthz", identity=None)
    assert (code, body) == (200, b"ok")


def test_redis_away_is_a_503_status(pki, namespace, kube_cluster, proxy):
    proc, port = _serve(pki, redis_url=f"redis://127.0.0.1:{free_port()}/0", namespace=namespace,
                        kubeconfig=kube_cluster.kubeconfig)
    try:
        away = Caller(port, pki / "serving-ca.crt", (Path(kube_cluster.front_proxy) / "front-proxy-client.crt",
                                                      Path(kube_cluster.front_proxy) / "front-proxy-client.key"))
        code, body = away.get(f"{CUSTOM}/v1beta2/namespaces/{namespace}/pods/*/ei_scale_ratio")
        assert (code, body["kind"], body["reason"]) == (503, "Status", "ServiceUnavailable"), body
        assert "Redis" in body["message"]
    finally:
        proc.terminate()
