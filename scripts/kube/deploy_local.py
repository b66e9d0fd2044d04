"""Deploy the kit on the one-node cluster of ``make cluster-up``: the steps of k8s/README.md, done for you.

It makes the Secrets' values once (random, in ``k8s/overlays/local/secrets/``, git-ignored, mode 0600),
applies ``k8s/overlays/local``, waits for every control-plane Deployment, sets the dashboard user's
password, and gives the worker pods their Secret (the Redis URL by address, the model-download token
from ``manage.py worker_token``), then deploys the metrics API component (``k8s/overlays/local-metrics-api``:
its own CA and serving certificate in that overlay's ``secrets/``, the TLS Secret, the APIServices' caBundle)
and waits for its APIServices to be Available. Run again, it changes nothing that is already right. Values travel in
files and on stdin, never on a command line. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.kube.pki import make_ca, make_cert

REPO = Path(__file__).resolve().parent.parent.parent
OVERLAY = REPO / "k8s" / "overlays" / "local"
SECRETS = OVERLAY / "secrets"
KUBECONFIG = REPO / ".kube" / "cluster.config"
NAMESPACE = "elastic-inference"
ADMIN_USER = "admin"
REDIS_ADDRESS = "198.19.0.10:6379"  # k8s/overlays/local/services.yaml
URL = "http://127.0.0.1:31080"  # the control plane's NodePort, on the node
REDIS_NODEPORT = "127.0.0.1:31003"
DEPLOYMENTS = ("postgres", "redis", "controlplane", "celery-worker", "celery-beat")
METRICS_OVERLAY = REPO / "k8s" / "overlays" / "local-metrics-api"  # the metrics API component, locally
METRICS_SERVICE = "elastic-inference-metrics-api"
API_SERVICES = ("v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io", "v1beta1.external.metrics.k8s.io")

# Sets the dashboard user's password (read from stdin), making the user when it is missing.
_SET_ADMIN = f"""
import sys
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username={ADMIN_USER!r})
user.is_staff = user.is_superuser = user.is_active = True
user.set_password(sys.stdin.read())
user.save()
"""


@dataclass(frozen=True)
class Deployed:
    """Where the deployed control plane answers and the credentials to use it from the node."""

    url: str
    admin_user: str
    admin_password: str
    redis_url: str  # through the NodePort, for producers on the node


def kubectl(*args: str, kubeconfig: Path = KUBECONFIG, stdin: str | None = None, check: bool = True,
            namespace: str | None = NAMESPACE) -> str:
    """``namespace`` None: the objects name their own (the metrics API has one in kube-system)."""
    done = subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", *(["-n", namespace] if namespace else []), *args],
        input=stdin, capture_output=True, text=True,
    )
    if check and done.returncode:
        raise SystemExit(f"deploy: kubectl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def secret_value(name: str, make) -> str:
    """The value kept in secrets/<name>, made by ``make()`` on the first run."""
    SECRETS.mkdir(mode=0o700, exist_ok=True)
    path = SECRETS / name
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(make())
    return path.read_text()


def write_secrets() -> dict[str, str]:
    """The values the overlay's secretGenerator reads, plus the dashboard user's password."""
    values = {name: secret_value(name, lambda: secrets.token_hex(32))
              for name in ("django-secret-key", "redis-password", "postgres-password")}
    values["admin-password"] = secret_value("admin-password", lambda: secrets.token_urlsafe(12))
    values["database-url"] = secret_value(
        "database-url",
        lambda: f"postgres://postgres:{values['postgres-password']}@elastic-inference-postgres:5432/elastic_inference",
    )
    return values


def wait_for_rollouts(kubeconfig: Path, timeout: int) -> None:
    for name in DEPLOYMENTS:
        kubectl("rollout", "status", f"deployment/elastic-inference-{name}", f"--timeout={timeout}s",
                kubeconfig=kubeconfig)


def manage(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    """``python manage.py ARGS`` in the server's container (retried while the database is not up yet)."""
    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(
            ["kubectl", f"--kubeconfig={kubeconfig}", "-n", NAMESPACE, "exec", "-i",
             "deployment/elastic-inference-controlplane", "-c", "server", "--", "python", "manage.py", *args],
            input=stdin or "", capture_output=True, text=True,
        )
        if done.returncode == 0:
            return done.stdout
        if time.monotonic() > deadline:
            raise SystemExit(f"deploy: manage.py {args[0]} failed: {done.stderr.strip()[-2000:]}")
        time.sleep(2)


def worker_secret(kubeconfig: Path, redis_password: str) -> None:
    """The Secret of the worker and producer pods (k8s/README.md step 5), applied so a rerun updates it."""
    token = manage(kubeconfig, "worker_token").strip()
    body = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "elastic-inference-worker", "labels": {"app.kubernetes.io/part-of": "elastic-inference"}},
        "stringData": {"redis-url": f"redis://:{redis_password}@{REDIS_ADDRESS}/0", "model-token": token},
    }
    kubectl("apply", "-f", "-", stdin=json.dumps(body), kubeconfig=kubeconfig)


def metrics_api_tls(kubeconfig: Path) -> None:
    """A CA of the metrics API's own and its serving certificate (made once, kept in the overlay's
    secrets/), the Secret the server mounts, and the APIServices' caBundle patch."""
    folder = METRICS_OVERLAY / "secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    if not (folder / "serving.crt").exists():
        make_ca(folder, "ca", "elastic-inference-metrics-api-ca")
        names = [f"{METRICS_SERVICE}.{NAMESPACE}.svc", f"{METRICS_SERVICE}.{NAMESPACE}.svc.cluster.local"]
        make_cert(folder, "serving", names[0], sans=[f"DNS:{name}" for name in names], ca="ca")
    encoded = {name: base64.b64encode((folder / name).read_bytes()).decode()
               for name in ("ca.crt", "serving.crt", "serving.key")}
    (folder / "ca-bundle.yaml").write_text("\n---\n".join(json.dumps({
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": name},
        "spec": {"caBundle": encoded["ca.crt"]}}) for name in API_SERVICES) + "\n")
    kubectl("apply", "-f", "-", kubeconfig=kubeconfig, stdin=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": f"{METRICS_SERVICE}-tls", "labels": {"app.kubernetes.io/part-of": "elastic-inference"}},
        "data": {"tls.crt": encoded["serving.crt"], "tls.key": encoded["serving.key"]}}))


def deploy_metrics_api(kubeconfig: Path, timeout: int) -> None:
    """The metrics API component, served and registered: every APIService Available (the aggregator
    reached the server and was let in)."""
    metrics_api_tls(kubeconfig)
    kubectl("apply", "-k", str(METRICS_OVERLAY), kubeconfig=kubeconfig, namespace=None)
    kubectl("rollout", "status", f"deployment/{METRICS_SERVICE}", f"--timeout={timeout}s", kubeconfig=kubeconfig)
    for name in API_SERVICES:
        kubectl("wait", "--for=condition=Available", f"apiservice/{name}", f"--timeout={timeout}s",
                kubeconfig=kubeconfig, namespace=None)


def deploy(kubeconfig: Path = KUBECONFIG, timeout: int = 300) -> Deployed:
    values = write_secrets()
    kubectl("apply", "-k", str(OVERLAY), kubeconfig=kubeconfig)
    wait_for_rollouts(kubeconfig, timeout)
    manage(kubeconfig, "shell", "-c", _SET_ADMIN, stdin=values["admin-password"])
    worker_secret(kubeconfig, values["redis-password"])
    deploy_metrics_api(kubeconfig, timeout)
    return Deployed(URL, ADMIN_USER, values["admin-password"],
                    f"redis://:{values['redis-password']}@{REDIS_NODEPORT}/0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, default=KUBECONFIG)
    parser.add_argument("--timeout", type=int, default=300, help="seconds to wait for each Deployment")
    options = parser.parse_args()
    started = time.monotonic()
    deployed = deploy(options.kubeconfig, options.timeout)
    print(
        f"deploy: the kit is up on the local cluster in {time.monotonic() - started:.0f} s\n"
        f"  dashboard {deployed.url}/   log in as {deployed.admin_user} / {deployed.admin_password}\n"
        f"  a producer on this machine, through the Redis NodePort (the password is in {SECRETS.relative_to(REPO)}/):\n"
        f"    REDIS_URL=redis://:$(cat {SECRETS.relative_to(REPO)}/redis-password)@{REDIS_NODEPORT}/0 \\\n"
        f"      .venv/bin/python -m producers file --stream gate --queue people --loop .assets/vtest.avi\n"
        f"  kubectl --kubeconfig {options.kubeconfig} -n {NAMESPACE} get deploy,hpa,pods"
        f" -l app.kubernetes.io/part-of=elastic-inference"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
