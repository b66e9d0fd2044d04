"""A real Kubernetes API server on loopback, for the tests and for trying the Kubernetes backend.

``up`` builds the binaries when no cached build exists (``scripts/kube/build.sh``), starts etcd,
kube-apiserver (with the aggregation layer's front proxy, whose client certificate a test may present to
an API server of ours as the real aggregator would) and kube-controller-manager on free loopback ports,
and writes a kubeconfig (admin token, ``insecure-skip-tls-verify``) to ``.kube/config``. ``down`` stops them. The tests import
:class:`Cluster` to start a private one when none is up. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from scripts.kube.pki import make_ca, make_cert

REPO = Path(__file__).resolve().parent.parent.parent
CACHE = Path(os.environ.get("EI_KUBE_CACHE", Path.home() / ".cache" / "elastic-inference" / "kube"))
BIN = CACHE / "bin"
DEFAULT_DIR = REPO / ".kube"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_binaries() -> None:
    if not (BIN / "kube-apiserver").exists() or not (BIN / "kube-controller-manager").exists():
        subprocess.run([str(REPO / "scripts" / "kube" / "build.sh")], check=True)
    if not shutil.which("etcd"):
        raise SystemExit("kube: etcd is missing; scripts/kube/build.sh installs etcd-server")


@dataclass
class Cluster:
    """A running API server: where it listens, the admin token, the kubeconfig, the process ids."""

    directory: str
    server: str
    token: str
    kubeconfig: str
    pids: list[int]
    front_proxy: str  # folder of front-proxy-ca.crt and the front-proxy-client.crt/.key the API server proxies with

    FRONT_PROXY_NAME = "front-proxy-client"

    @classmethod
    def start(cls, directory: Path, *, controllers: bool = True, timeout: float = 90) -> "Cluster":
        ensure_binaries()
        directory = Path(directory)
        state = directory / "cluster"
        shutil.rmtree(state, ignore_errors=True)
        (state / "certs").mkdir(parents=True)
        token = secrets.token_hex(16)
        (state / "tokens.csv").write_text(f'{token},admin,admin-uid,"system:masters"\n')
        (state / "tokens.csv").chmod(0o600)
        subprocess.run(["openssl", "genrsa", "-out", state / "sa.key", "2048"], check=True, capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", state / "sa.key", "-pubout", "-out", state / "sa.pub"],
                       check=True, capture_output=True)
        proxy = state / "front-proxy"
        proxy.mkdir()
        make_ca(proxy, "front-proxy-ca", "elastic-inference-test-front-proxy-ca")
        make_cert(proxy, "front-proxy-client", cls.FRONT_PROXY_NAME, ca="front-proxy-ca")
        client, peer, secure = _free_port(), _free_port(), _free_port()
        server = f"https://127.0.0.1:{secure}"
        pids = []

        def spawn(name: str, cmd: list) -> None:
            log = open(state / f"{name}.log", "wb")
            proc = subprocess.Popen([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            pids.append(proc.pid)

        spawn("etcd", [
            "etcd", "--data-dir", state / "etcd", "--listen-client-urls", f"http://127.0.0.1:{client}",
            "--advertise-client-urls", f"http://127.0.0.1:{client}", "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer}", "--log-level", "warn",
        ])
        spawn("kube-apiserver", [
            BIN / "kube-apiserver", f"--etcd-servers=http://127.0.0.1:{client}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", f"--secure-port={secure}", "--insecure-port=0",
            f"--cert-dir={state / 'certs'}", f"--token-auth-file={state / 'tokens.csv'}", "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc", f"--service-account-key-file={state / 'sa.pub'}",
            f"--service-account-signing-key-file={state / 'sa.key'}", "--service-cluster-ip-range=10.96.0.0/24",
            "--disable-admission-plugins=ServiceAccount",
            f"--requestheader-client-ca-file={proxy / 'front-proxy-ca.crt'}",
            f"--requestheader-allowed-names={cls.FRONT_PROXY_NAME}", "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={proxy / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={proxy / 'front-proxy-client.key'}",
        ])
        cluster = cls(str(directory), server, token, str(directory / "config"), pids, str(proxy))
        cluster._write_kubeconfig()
        try:
            cluster._wait_ready(timeout)
            if controllers:  # Deployments get ReplicaSets and (Pending) Pods; HPAs get a status
                spawn("kube-controller-manager", [
                    BIN / "kube-controller-manager", f"--kubeconfig={cluster.kubeconfig}", "--leader-elect=false",
                    "--controllers=deployment,replicaset,horizontalpodautoscaling,garbagecollector,namespace",
                    "--horizontal-pod-autoscaler-sync-period=5s", "--bind-address=127.0.0.1", "--secure-port=0",
                    "--port=0",  # no fixed insecure port: a second cluster on this machine must not collide
                ])
        except BaseException:
            cluster.stop()
            raise
        (state / "cluster.json").write_text(json.dumps(asdict(cluster)))
        return cluster

    @classmethod
    def load(cls, directory: Path) -> "Cluster | None":
        """The cluster ``up`` left in ``directory``, answering or not."""
        try:
            return cls(**json.loads((Path(directory) / "cluster" / "cluster.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    @classmethod
    def running(cls, directory: Path) -> "Cluster | None":
        """The cluster ``up`` left in ``directory``, if it still answers."""
        cluster = cls.load(directory)
        return cluster if cluster is not None and cluster.ready() else None

    def ready(self) -> bool:
        request = urllib.request.Request(f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.token}"})
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            with urllib.request.urlopen(request, timeout=2, context=context) as reply:
                return reply.read().strip() == b"ok"
        except OSError:
            return False

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                log = Path(self.directory) / "cluster" / "kube-apiserver.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"kube-apiserver not ready in {timeout:.0f} s:\n{tail}")
            time.sleep(0.3)

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "ei-test",
            "clusters": [{"name": "ei-test", "cluster": {"server": self.server, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "ei-test", "context": {"cluster": "ei-test", "user": "admin"}}],
        }
        path = Path(self.kubeconfig)
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        path.chmod(0o600)

    def stop(self) -> None:
        for pid in reversed(self.pids):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 15
        for pid in self.pids:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(Path(self.directory) / "cluster", ignore_errors=True)
        Path(self.kubeconfig).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child of ours that exited but was not waited for is a zombie: gone for our purposes
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="state and kubeconfig folder [.kube]")
    args = parser.parse_args()
    args.dir.mkdir(exist_ok=True)
    running = Cluster.running(args.dir)
    if args.action == "up":
        if running is None:
            if (stale := Cluster.load(args.dir)) is not None:
                stale.stop()
            running = Cluster.start(args.dir)
        print(f"kube: API server {running.server} up; kubeconfig {running.kubeconfig}\n"
              f"  KUBECONFIG={running.kubeconfig} kubectl get ns")
    elif args.action == "down":
        if (cluster := Cluster.load(args.dir)) is None:
            print("kube: no API server was started from", args.dir)
        else:
            cluster.stop()
            print("kube: stopped")
    else:
        print(f"kube: up at {running.server}" if running else "kube: down")
        return 0 if running else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
