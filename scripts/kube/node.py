"""A real one-node Kubernetes cluster on this machine: containerd, etcd, the control plane, a kubelet, kube-proxy.

``python -m scripts.kube.node up|down|status|load ARCHIVE...`` (``make cluster-up`` / ``make cluster-down``).
The tests import :func:`up`, :func:`down`, :func:`load` and :func:`unsupported`.

Where ``scripts/kube/cluster.py`` is an API server alone (fast, many per machine), this runs pods: it is the
kit's real target. The parts are Debian bookworm packages (containerd 1.6 with its CRI plugin, runc,
containernetworking-plugins, etcd) and the kubelet, kube-proxy, kube-scheduler, kube-apiserver and
kube-controller-manager that ``scripts/kube/build.sh`` builds from Debian's ``kubernetes`` source package.
The recipe behind every flag: ``/work/shared/kube-node/RECIPE.md``.

There is one such cluster per machine (fixed ports, one bridge, NodePorts on the host), so its state lives in
a machine-wide folder, ``$EI_CLUSTER_DIR`` (default ``/var/tmp/elastic-inference/cluster``), behind a
``flock`` so two ``up`` calls never race. No traffic leaves the machine: pods get addresses in the RFC 2544
benchmark ranges (pods 198.18.0.0/24, services 198.19.0.0/24), no default route and no masquerading, no
cluster DNS, and the kubelet runs with ``AWS_EC2_METADATA_DISABLED=true`` (its built-in cloud credential
lookup would otherwise call a metadata address). There is no registry: images come from local OCI archives
(:func:`load`), and the sandbox ("pause") image is built here from ``pause.c``.

Standard library only; runs as root (or through ``sudo -n``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import io
import json
import os
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from scripts.kube.pki import make_ca, make_cert

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("EI_KUBE_CACHE", Path.home() / ".cache" / "elastic-inference" / "kube"))
BIN = CACHE / "bin"
STATE = Path(os.environ.get("EI_CLUSTER_DIR", "/var/tmp/elastic-inference/cluster"))

POD_CIDR, POD_GATEWAY = "198.18.0.0/24", "198.18.0.1"
SERVICE_CIDR, API_SERVICE_IP = "198.19.0.0/24", "198.19.0.1"
BRIDGE, NETWORK = "eibr0", "elastic-inference"
API_PORT = 16443
ETCD_CLIENT, ETCD_PEER, ETCD_METRICS = 23790, 23800, 23810
KUBELET_PORT, KUBELET_HEALTHZ, PROXY_HEALTHZ, PROXY_METRICS = 10250, 10248, 10256, 10249
PAUSE_IMAGE = "localhost/elastic-inference/pause:1"  # a pull of it could only ever go to this machine
VOLUMES, VOLUME_SIZE = 4, "10Gi"
HPA_SYNC_PERIOD = "5s"  # how often the HPA controller reads metrics and decides; Kubernetes' default is 15s

PACKAGES = ["containerd", "runc", "containernetworking-plugins", "iptables", "conntrack", "ethtool", "ebtables",
            "ipset", "nftables", "gcc", "libc6-dev", "openssl", "etcd-server"]
KUBE_BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]
# Started in this order, stopped in the reverse one.
COMPONENTS = ["containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet",
              "kube-proxy"]
# Host settings the kubelet (vm.*, kernel.*), the CNI bridge (ip_forward), kube-proxy (route_localnet) and
# we (bridge-nf-call-iptables) change: recorded before the first start, put back by `down`.
SYSCTLS = ["vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
           "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes", "net.ipv4.ip_forward",
           "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.route_localnet",
           "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"]
# Paths the kubelet 1.20, containerd's shims and its CNI library hard-code outside any state folder.
OUTSIDE_PATHS = ["/var/log/pods", "/var/log/containers", "/var/lib/kubelet/device-plugins", "/var/lib/cni/results"]
OUTSIDE_PARENTS = ["/var/lib/kubelet", "/var/lib/cni", "/usr/libexec/kubernetes"]  # removed when left empty
NFT_TABLES = ["ip filter", "ip nat", "ip mangle", "ip6 filter", "ip6 nat", "ip6 mangle"]


@dataclass
class Node:
    """A running one-node cluster: where its state is, how to reach it."""

    state_dir: str
    kubeconfig: str
    node_ip: str
    node_name: str
    server: str
    pod_cidr: str = POD_CIDR
    service_cidr: str = SERVICE_CIDR


def log(message: str) -> None:
    print(f"node: {message}", flush=True)


# ---------------------------------------------------------------------------------------------- machine


def unsupported() -> str | None:
    """Why this machine cannot run a node (one line), or None: the tests skip with it instead of failing."""
    if not sys.platform.startswith("linux"):
        return f"a node needs Linux, this is {sys.platform}"
    cgroups = Path("/sys/fs/cgroup")
    if not (cgroups / "memory").is_dir() and not (cgroups / "cgroup.controllers").exists():
        return "no cgroups mounted at /sys/fs/cgroup (the kubelet needs them)"
    if not Path("/proc/self/ns/net").exists():
        return "no network namespaces (/proc/self/ns/net is missing)"
    if os.geteuid() != 0 and not _sudo_works():
        return "not root and no password-less sudo (containerd, the kubelet and kube-proxy need root)"
    return None


def _sudo_works() -> bool:
    if not shutil.which("sudo"):
        return False
    return subprocess.run(["sudo", "-n", "true"], check=False, capture_output=True).returncode == 0


def _as_root(*args: str) -> None:
    """Run this file's CLI as root via ``sudo -n``: the API works for a non-root caller with sudo rights."""
    subprocess.run(["sudo", "-n", sys.executable, "-m", "scripts.kube.node", *args], check=True, cwd=REPO)


def node_address() -> tuple[str, str]:
    """(node name, node IP): the IP is the default-route device's address, never loopback, because the API
    server reaches the kubelet there for ``kubectl logs`` and ``exec`` (a loopback node IP is refused)."""
    name = os.uname().nodename.split(".")[0].lower()
    route = _run(["ip", "-4", "-o", "route", "show", "default"]).split()
    device = route[route.index("dev") + 1] if "dev" in route else None
    if device is None:
        raise RuntimeError("node: no default route, so no non-loopback address for the kubelet")
    for line in _run(["ip", "-4", "-o", "addr", "show", "dev", device]).splitlines():
        fields = line.split()
        if "inet" in fields:
            return name, fields[fields.index("inet") + 1].split("/")[0]
    raise RuntimeError(f"node: the default-route device {device} has no IPv4 address")


def _run(cmd: list, **kwargs) -> str:
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kwargs).stdout


def ensure_packages() -> None:
    """Install the Debian packages a node needs, once; quiet and quick when they are all there."""
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return
    log(f"apt-get install {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "--no-upgrade", *missing],
                            check=False, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"node: apt-get install failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def _installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], check=False, capture_output=True, text=True)
    return result.stdout.endswith("installed") and "not-installed" not in result.stdout


def ensure_binaries() -> None:
    """The five kube binaries, built once per machine (``build.sh`` waits for a build already running)."""
    if not all(os.access(BIN / name, os.X_OK) for name in KUBE_BINARIES):
        subprocess.run([str(HERE / "build.sh")], check=True)


# ---------------------------------------------------------------------------------------------- layout


class Layout:
    """Every path of the state folder in one place."""

    def __init__(self, root: Path = STATE):
        self.root = root
        self.pki = root / "pki"
        self.kubeconfigs = root / "kubeconfig"
        self.run = root / "run"
        self.logs = root / "logs"
        self.containerd = root / "containerd"
        self.socket = self.containerd / "containerd.sock"
        self.etcd = root / "etcd"
        self.cni = root / "cni"
        self.kubelet = root / "kubelet"
        self.volumes = root / "volumes"
        self.lock = root / "lock"
        self.info = root / "node.json"
        self.sysctls = root / "sysctl.before"
        self.nft = root / "nft-tables.before"
        self.iptables = root / "iptables.before"
        self.admin = self.kubeconfigs / "admin.kubeconfig"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"


@contextlib.contextmanager
def _locked(layout: Layout):
    """One ``up`` or ``down`` at a time on this machine."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# ---------------------------------------------------------------------------------------------- PKI


def ensure_pki(layout: Layout, node_name: str, node_ip: str) -> None:
    """A CA and every certificate the parts use, made once and kept while the node's name and IP stay the same.

    ECDSA keys (instant to make; RSA only for the service-account signing key). The front-proxy CA and its
    client certificate are for the aggregation layer (an API service such as a metrics API served by us).
    """
    stamp = layout.pki / "node.json"
    want = {"node_name": node_name, "node_ip": node_ip, "version": 1}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return
    shutil.rmtree(layout.pki, ignore_errors=True)
    layout.pki.mkdir(parents=True)
    layout.pki.chmod(0o700)
    make_ca(layout.pki, "ca", "elastic-inference-node-ca")
    make_ca(layout.pki, "front-proxy-ca", "elastic-inference-front-proxy-ca")
    _run(["openssl", "genrsa", "-out", layout.pki / "sa.key", "2048"])
    _run(["openssl", "rsa", "-in", layout.pki / "sa.key", "-pubout", "-out", layout.pki / "sa.pub"])
    api_sans = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1", f"IP:{node_ip}", f"IP:{API_SERVICE_IP}"]
    make_cert(layout.pki, "apiserver", "kube-apiserver", sans=api_sans)
    make_cert(layout.pki, "apiserver-kubelet-client", "kube-apiserver-kubelet-client", org="system:masters")
    make_cert(layout.pki, "admin", "admin", org="system:masters")
    make_cert(layout.pki, "controller-manager", "system:kube-controller-manager")
    make_cert(layout.pki, "scheduler", "system:kube-scheduler")
    make_cert(layout.pki, "kube-proxy", "system:kube-proxy")
    make_cert(layout.pki, "kubelet", f"system:node:{node_name}", org="system:nodes")
    make_cert(layout.pki, "kubelet-serving", node_name,
              sans=[f"DNS:{node_name}", "DNS:localhost", "IP:127.0.0.1", f"IP:{node_ip}"])
    make_cert(layout.pki, "front-proxy-client", "front-proxy-client", ca="front-proxy-ca")
    stamp.write_text(json.dumps(want))


def _kubeconfig(server: str, pki: Path, user: str, *, embed: bool) -> str:
    """A kubeconfig (JSON is YAML) for one client certificate; ``embed`` puts the certificates inline so the
    file can be copied anywhere (the admin one); the components' ones point at files."""
    def field(key: str, path: Path) -> dict:
        return {f"{key}-data": base64.b64encode(path.read_bytes()).decode()} if embed else {key: str(path)}

    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "elastic-inference-node",
        "clusters": [{"name": "elastic-inference-node",
                      "cluster": {"server": server, **field("certificate-authority", pki / "ca.crt")}}],
        "users": [{"name": user, "user": {**field("client-certificate", pki / f"{user}.crt"),
                                          **field("client-key", pki / f"{user}.key")}}],
        "contexts": [{"name": "elastic-inference-node",
                      "context": {"cluster": "elastic-inference-node", "user": user}}],
    }
    return json.dumps(config, indent=2)


def write_kubeconfig(layout: Layout, server: str, path: Path) -> None:
    """The admin kubeconfig at ``path`` (0600), and its owner the sudo caller when we run through sudo."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_kubeconfig(server, layout.pki, "admin", embed=True))
    path.chmod(0o600)
    if os.geteuid() == 0 and os.environ.get("SUDO_UID"):
        os.chown(path, int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", "0")))


# ---------------------------------------------------------------------------------------------- configs


def write_configs(layout: Layout, node_ip: str, server: str) -> None:
    """containerd's, the CNI's and the kubelet's configuration files and the components' kubeconfigs."""
    S = layout.root
    layout.kubeconfigs.mkdir(parents=True, exist_ok=True)
    for user in ("controller-manager", "scheduler", "kube-proxy", "kubelet"):
        (layout.kubeconfigs / f"{user}.kubeconfig").write_text(_kubeconfig(server, layout.pki, user, embed=False))
    (layout.kubeconfigs / "admin.kubeconfig").write_text(_kubeconfig(server, layout.pki, "admin", embed=True))
    layout.admin.chmod(0o600)

    runc = shutil.which("runc") or "/usr/sbin/runc"
    layout.containerd.mkdir(parents=True, exist_ok=True)
    # restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, and every sandbox failed without it.
    # netns_mounts_under_state_dir: the pods' network namespaces live under S, not /var/run/netns.
    # The "opt" plugin would otherwise create /opt/containerd.
    (layout.containerd / "config.toml").write_text(f"""\
version = 2
root = "{S}/containerd/root"
state = "{S}/containerd/state"
[grpc]
  address = "{layout.socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{S}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{S}/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{S}/cni/net.d"
""")

    # No default route in pods and no ipMasq: pods cannot send anything off this machine. The one route is to
    # the service range, through the bridge (the host), where kube-proxy's rules take over.
    (layout.cni / "net.d").mkdir(parents=True, exist_ok=True)
    conflist = {
        "cniVersion": "0.4.0", "name": NETWORK,
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR, "gateway": POD_GATEWAY}]],
                      "routes": [{"dst": SERVICE_CIDR}], "dataDir": str(layout.cni / "ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (layout.cni / "net.d" / "10-elastic-inference.conflist").write_text(json.dumps(conflist, indent=2))

    layout.kubelet.mkdir(parents=True, exist_ok=True)
    # imageGC 100/99: never delete a local image (nothing can pull it again). nodeStatusUpdateFrequency 2s: the
    # node is Ready ~14 s after the start instead of ~26 s. resolvConf is a flag (the file's field is reset).
    (layout.kubelet / "config.yaml").write_text(json.dumps({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs", "address": node_ip, "port": KUBELET_PORT, "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": KUBELET_HEALTHZ,
        "tlsCertFile": str(layout.pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(layout.pki / "kubelet-serving.key"),
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(layout.pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "clusterDomain": "cluster.local", "failSwapOn": False,
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "serializeImagePulls": False, "nodeStatusUpdateFrequency": "2s",
    }, indent=2))


# ---------------------------------------------------------------------------------------------- processes


def _spawn(layout: Layout, name: str, cmd: list, env: dict | None = None) -> int:
    """Start ``cmd`` in its own session, detached from us (so it outlives the CLI and a test process has no
    child to wait for), logging to ``logs/NAME.log``; the pid goes to ``run/NAME.pid``."""
    layout.run.mkdir(parents=True, exist_ok=True)
    layout.logs.mkdir(parents=True, exist_ok=True)
    logfile = layout.logs / f"{name}.log"
    # The shell backgrounds setsid, which (not a group leader there) calls setsid(2) and execs cmd in place,
    # so $! is the component's own pid; the shell exits at once and the component is re-parented.
    script = 'setsid "$@" >>"$EI_LOG" 2>&1 </dev/null & echo $!'
    full_env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", **(env or {}), "EI_LOG": str(logfile)}
    pid = int(_run(["sh", "-c", script, "sh", *cmd], env=full_env).strip())
    layout.pidfile(name).write_text(str(pid))
    deadline = time.monotonic() + 5  # until the forked shell has exec'd setsid, and setsid the component
    while _pid(layout, name) is None and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return pid


def _alive(pid: int) -> bool:
    """A pid is alive unless it is gone or a zombie (whose parent has not reaped it yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _pid(layout: Layout, name: str) -> int | None:
    """The live pid of component ``name``, checked against its command line (a pid file can outlive its pid)."""
    try:
        pid = int(layout.pidfile(name).read_text())
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (OSError, ValueError):
        return None
    return pid if Path(argv0).name == name and _alive(pid) else None


def _stop(layout: Layout, name: str, timeout: float = 10) -> None:
    """TERM the component, KILL it after ``timeout``, forget its pid."""
    pid = _pid(layout, name)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _alive(pid) and time.monotonic() < deadline + 5:
                time.sleep(0.05)
    layout.pidfile(name).unlink(missing_ok=True)


def _wait(what: str, check, timeout: float, layout: Layout, name: str) -> None:
    """Poll ``check`` until true; on a timeout, or when the component died, fail with its log's tail."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        dead = name and _pid(layout, name) is None
        if dead or time.monotonic() > deadline:
            logfile = layout.logs / f"{name}.log"
            tail = logfile.read_text(errors="replace")[-3000:] if logfile.exists() else ""
            raise RuntimeError(f"node: {what} {'died' if dead else f'not ready in {timeout:.0f} s'}:\n{tail}")
        time.sleep(0.2)


def _ctr(layout: Layout, *args: str, namespace: str = "k8s.io", check: bool = True,
         timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["ctr", "-a", str(layout.socket), "-n", namespace, *args], capture_output=True,
                          text=True, check=check, timeout=timeout)


def _http_ok(url: str, context: ssl.SSLContext | None = None, expect: bytes = b"ok") -> bool:
    with urllib.request.urlopen(url, timeout=2, context=context) as reply:
        return expect in reply.read()


# ---------------------------------------------------------------------------------------------- API


class Api:
    """The admin's minimal API client (stdlib), for waiting on the node and creating the volumes."""

    def __init__(self, layout: Layout, server: str):
        self.server = server
        self.context = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
        self.context.load_cert_chain(str(layout.pki / "admin.crt"), str(layout.pki / "admin.key"))

    def request(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json"):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method,
                                         headers={"Content-Type": content_type, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=5, context=self.context) as reply:
            raw = reply.read()
        return json.loads(raw) if raw.startswith(b"{") else raw.decode()

    def get(self, path: str):
        return self.request("GET", path)

    def ready(self) -> bool:
        try:
            return self.get("/readyz") == "ok"
        except (OSError, ValueError):
            return False

    def node_ready(self, name: str) -> bool:
        try:
            conditions = self.get(f"/api/v1/nodes/{name}").get("status", {}).get("conditions", [])
        except (OSError, ValueError):
            return False
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# ---------------------------------------------------------------------------------------------- pause image


def pause_archive() -> Path:
    """The sandbox image as an OCI archive: ``pause.c`` built static, cached in the kube cache by its source's hash."""
    source = HERE / "pause.c"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    out = CACHE / "pause" / f"pause-{digest}.tar"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    binary = out.parent / f"pause-{digest}"
    _run(["gcc", "-static", "-Os", "-s", "-o", binary, source])
    oci_archive({"pause": (binary.read_bytes(), 0o755)}, PAUSE_IMAGE, out, entrypoint=["/pause"])
    binary.unlink()
    return out


def oci_archive(files: dict[str, tuple[bytes, int]], name: str, out: Path, *, entrypoint: list[str],
                cmd: list[str] | None = None) -> None:
    """A one-layer OCI image archive of ``files`` (path -> (content, mode)) named ``name``, as ``ctr images
    import`` takes it: the layer, its config, a manifest and an index naming the image in full (both the
    containerd and the OCI ref-name annotation, as ``buildah push oci-archive:FILE:NAME`` writes it)."""
    def tar_bytes(entries: dict[str, tuple[bytes, int]]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for path, (content, mode) in sorted(entries.items()):
                info = tarfile.TarInfo(path)
                info.size, info.mode, info.mtime = len(content), mode, 0
                tar.addfile(info, io.BytesIO(content))
        return buffer.getvalue()

    def blob(data: bytes) -> tuple[str, bytes]:
        return "sha256:" + hashlib.sha256(data).hexdigest(), data

    layer = tar_bytes(files)
    layer_digest, _ = blob(layer)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint, **({"Cmd": cmd} if cmd else {}),
                   "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }, separators=(",", ":")).encode()
    config_digest, _ = blob(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": len(layer)}],
    }, separators=(",", ":")).encode()
    manifest_digest, _ = blob(manifest)
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
        "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
        "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}}]}).encode()
    entries = {"oci-layout": (b'{"imageLayoutVersion":"1.0.0"}', 0o644), "index.json": (index, 0o644)}
    for digest, data in ((layer_digest, layer), (config_digest, config), (manifest_digest, manifest)):
        entries["blobs/sha256/" + digest.split(":")[1]] = (data, 0o644)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(tar_bytes(entries))
    tmp.replace(out)


def archive_images(archive: Path) -> dict[str, str]:
    """The images an OCI archive's index names (what ``ctr images import`` will call them), with the
    digest of each one's manifest."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json") or tar.extractfile("./index.json")
        index = json.load(member)
    images = {}
    for manifest in index.get("manifests", []):
        annotations = manifest.get("annotations", {})
        name = annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name")
        if name:
            images[name] = manifest["digest"]
    return images


def _present(layout: Layout) -> dict[str, str]:
    """The images containerd holds for the CRI: name -> manifest digest."""
    lines = _ctr(layout, "images", "ls").stdout.splitlines()[1:]  # REF TYPE DIGEST SIZE ...
    return {fields[0]: fields[2] for fields in map(str.split, lines) if len(fields) > 2}


def _import(layout: Layout, archive: Path) -> list[str]:
    """Import one archive into the CRI's namespace (``k8s.io``) and check it arrived under its full names."""
    wanted = archive_images(archive)
    names = list(wanted)
    bad = [n for n in names if "/" not in n or ":" not in n.rsplit("/", 1)[-1]]
    if not names or bad:
        raise ValueError(f"node: {archive} must name its image in full (registry/path:tag), it says {names}")
    if all(_present(layout).get(name) == digest for name, digest in wanted.items()):
        return names  # this very image is loaded already: a second import would only cost time
    _ctr(layout, "images", "import", str(archive), timeout=600)
    present = _present(layout)
    missing = [n for n in names if n not in present]
    if missing:
        raise RuntimeError(f"node: importing {archive} did not give {missing}; containerd has {sorted(present)}")
    return names


# ---------------------------------------------------------------------------------------------- host state


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def _record_host_state(layout: Layout) -> None:
    """What the node is going to change on the host, recorded once (before the first start after a ``down``)."""
    if not layout.sysctls.exists():
        values = {k: _sysctl_path(k).read_text().strip() for k in SYSCTLS if _sysctl_path(k).exists()}
        layout.sysctls.write_text(json.dumps(values, indent=1))
    if not layout.nft.exists() and shutil.which("nft"):
        tables = subprocess.run(["nft", "list", "tables"], check=False, capture_output=True, text=True).stdout
        layout.nft.write_text(tables)
    if not layout.iptables.exists():
        layout.iptables.write_text("\n".join(_iptables_chains()))


def _bridge_netfilter() -> bool:
    """Make bridged pod-to-pod frames pass iptables, or say we cannot.

    A pod calling a Service whose backend is another pod on the same bridge: the request goes up to the host
    and is DNATed there, but the backend's reply goes straight across the bridge to the caller. Unless
    bridged frames pass netfilter (``br_netfilter``, ``net.bridge.bridge-nf-call-iptables=1``) conntrack
    never reverses the NAT and the caller drops a reply from an address it did not call. When that cannot be
    had, kube-proxy's ``--masquerade-all`` is the fallback (the backend then replies to the bridge address).
    """
    key = _sysctl_path("net.bridge.bridge-nf-call-iptables")
    if not key.exists() and shutil.which("modprobe"):
        subprocess.run(["modprobe", "br_netfilter"], check=False, capture_output=True)
    if not key.exists():
        return False
    for name in ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"):
        _sysctl_path(name).write_text("1")
    return True


def _restore_host_state(layout: Layout) -> None:
    """Put back the sysctls, drop the nft tables iptables-nft created that are empty again."""
    if layout.sysctls.exists():
        for key, value in json.loads(layout.sysctls.read_text()).items():
            path = _sysctl_path(key)
            if path.exists() and path.read_text().strip() != value:
                path.write_text(value)
        layout.sysctls.unlink()
    if layout.nft.exists():
        before = layout.nft.read_text().splitlines()
        for table in NFT_TABLES:
            if f"table {table}" in before:
                continue
            listing = subprocess.run(["nft", "list", "table", *table.split()], check=False, capture_output=True,
                                     text=True)
            if listing.returncode != 0:
                continue
            body = [line.strip() for line in listing.stdout.splitlines()]
            if all(not line or line.startswith(("table", "chain", "type", "}")) for line in body):
                subprocess.run(["nft", "delete", "table", *table.split()], check=False, capture_output=True)
        layout.nft.unlink()


def _iptables_cleanup(layout: Layout) -> None:
    """Remove the iptables rules and chains the node made, and nothing else (buildah's CNI may have its own):
    every KUBE-* chain (kubelet, kube-proxy) and every rule jumping to one; the portmap plugin's per-pod
    CNI-DN-* chains and the rules naming our network; its shared CNI-HOSTPORT-* chains when they were not
    there before ``up``."""
    before = set(layout.iptables.read_text().split()) if layout.iptables.exists() else set()
    for tool in ("iptables", "ip6tables"):
        if not shutil.which(tool):
            continue
        for table in ("filter", "nat", "mangle", "raw"):
            rules = _iptables_rules(tool, table)
            if rules is None:
                continue
            chains = {parts[1] for parts in rules if parts[0] == "-N"}
            ours = {c for c in chains if c.startswith("KUBE-")}
            doomed = []
            for parts in rules:
                if parts[0] != "-A":
                    continue
                target = parts[parts.index("-j") + 1] if "-j" in parts else ""
                if any(f'name: "{NETWORK}"' in part for part in parts):
                    doomed.append(parts)
                    if target.startswith("CNI-DN-"):
                        ours.add(target)
                elif target in ours and parts[1] not in ours:
                    doomed.append(parts)
            for parts in doomed:
                _iptables(tool, table, "-D", *parts[1:])
            for flag in ("-F", "-X"):
                for chain in ours:
                    _iptables(tool, table, flag, chain)
            # portmap's shared chains: ours when they were not there before `up` (with their fixed rules)
            shared = {c for c in chains - ours if c.startswith("CNI-HOSTPORT-") and f"{tool}/{table}/{c}" not in before}
            for parts in _iptables_rules(tool, table) or []:
                if parts[0] == "-A" and parts[1] not in shared and "-j" in parts and \
                        parts[parts.index("-j") + 1] in shared:
                    _iptables(tool, table, "-D", *parts[1:])
            for flag in ("-F", "-X"):
                for chain in shared:
                    _iptables(tool, table, flag, chain)


def _iptables_rules(tool: str, table: str) -> list[list[str]] | None:
    listing = subprocess.run([tool, "-w", "-t", table, "-S"], check=False, capture_output=True, text=True)
    return [shlex.split(line) for line in listing.stdout.splitlines() if line] if listing.returncode == 0 else None


def _iptables(tool: str, table: str, *args: str) -> None:
    subprocess.run([tool, "-w", "-t", table, *args], check=False, capture_output=True)


def _iptables_chains() -> list[str]:
    """Every chain there is now, as tool/table/chain (recorded before ``up``)."""
    found = []
    for tool in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle", "raw"):
            found += [f"{tool}/{table}/{p[1]}" for p in _iptables_rules(tool, table) or [] if p[0] == "-N"]
    return found


# ---------------------------------------------------------------------------------------------- volumes


def ensure_volumes(layout: Layout, api: Api) -> None:
    """hostPath PersistentVolumes, because this cluster has no provisioner: a PVC without a storage class
    (the kit's ``elastic-inference-media``: RWX, 10Gi) binds to one of them.

    Each is 10Gi, ReadWriteOnce + ReadWriteMany, no storageClassName, reclaim ``Retain`` (the Delete and
    Recycle reclaimers cannot work here); ``up`` makes a Released one Available again (claim dropped, folder
    emptied) so a deleted and re-made PVC binds again. The folders are 0777 because hostPath ignores fsGroup.
    """
    existing = {pv["metadata"]["name"]: pv for pv in api.get("/api/v1/persistentvolumes").get("items", [])}
    for n in range(VOLUMES):
        name, folder = f"ei-local-{n}", layout.volumes / f"pv-{n}"
        if not folder.is_dir():
            folder.mkdir(parents=True)
        folder.chmod(0o777)
        pv = existing.get(name)
        if pv is None:
            api.request("POST", "/api/v1/persistentvolumes", {
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "elastic-inference-node"}},
                "spec": {"capacity": {"storage": VOLUME_SIZE}, "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                         "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem",
                         "hostPath": {"path": str(folder), "type": "Directory"}},
            })
        elif pv.get("status", {}).get("phase") == "Released":
            _empty(folder)
            api.request("PATCH", f"/api/v1/persistentvolumes/{name}", [{"op": "remove", "path": "/spec/claimRef"}],
                        content_type="application/json-patch+json")


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


# ---------------------------------------------------------------------------------------------- up


def _info(layout: Layout) -> dict | None:
    try:
        return json.loads(layout.info.read_text())
    except (OSError, ValueError):
        return None


def _running(layout: Layout, hpa_sync_period: str | None = None) -> Node | None:
    """The node left by an earlier ``up``, if every part still runs, the node is Ready and (when given) its
    HPA controller decides every ``hpa_sync_period``."""
    info = _info(layout)
    if info is None or any(_pid(layout, name) is None for name in COMPONENTS):
        return None
    if hpa_sync_period is not None and info.get("hpa_sync_period") != hpa_sync_period:
        log(f"restarting: the HPA sync period changes from {info.get('hpa_sync_period')} to {hpa_sync_period}")
        return None
    api = Api(layout, info["server"])
    if not api.ready() or not api.node_ready(info["node_name"]):
        return None
    return Node(**{k: v for k, v in info.items() if k in Node.__dataclass_fields__})


def running() -> bool:
    """True when an earlier ``up`` left the node running and Ready (then ``up`` reuses it)."""
    return _running(Layout()) is not None


def up(kubeconfig: Path, hpa_sync_period: str = HPA_SYNC_PERIOD) -> Node:
    """The machine's node cluster, running and Ready, with the admin kubeconfig written to ``kubeconfig``
    (and a copy in the state folder). Reuses a healthy running cluster; otherwise starts one afresh
    (fresh etcd data, CNI address pool and volume folders)."""
    kubeconfig = Path(kubeconfig).resolve()
    if os.geteuid() != 0:
        _as_root("up", "--kubeconfig", str(kubeconfig), "--hpa-sync-period", hpa_sync_period)
        info = _info(Layout())
        return Node(**{k: v for k, v in info.items() if k in Node.__dataclass_fields__})
    layout = Layout()
    with _locked(layout):
        node = _running(layout, hpa_sync_period)
        if node is not None:
            log(f"already up ({node.server}, node {node.node_name} Ready)")
            ensure_volumes(layout, Api(layout, node.server))
        else:
            _teardown(layout, quiet=True)
            try:
                node = _start(layout, kubeconfig, hpa_sync_period)
            except BaseException:  # leave nothing half up; the logs stay for a look
                _teardown(layout, quiet=True)
                raise
        write_kubeconfig(layout, node.server, kubeconfig)
        node.kubeconfig = str(kubeconfig)
        info = _info(layout) or {}
        info.update(asdict(node), kubeconfigs=sorted(set(info.get("kubeconfigs", [])) | {str(kubeconfig)}))
        layout.info.write_text(json.dumps(info, indent=2))
    return node


def _start(layout: Layout, kubeconfig: Path, hpa_sync_period: str) -> Node:
    """Start every part in order, waiting for each, timing each."""
    S = layout.root
    started = time.monotonic()
    mark = [started]

    def step(what: str) -> None:
        now = time.monotonic()
        log(f"{what:<32} {now - mark[0]:5.1f} s   (+{now - started:5.1f} s)")
        mark[0] = now

    ensure_packages()
    ensure_binaries()
    node_name, node_ip = node_address()
    server = f"https://127.0.0.1:{API_PORT}"
    step("packages and binaries")
    ensure_pki(layout, node_name, node_ip)
    write_configs(layout, node_ip, server)
    pause = pause_archive()
    step("PKI, configs, pause image")

    for fresh in (layout.etcd / "data", layout.cni / "ipam", layout.volumes, layout.kubelet / "root"):
        shutil.rmtree(fresh, ignore_errors=True)
    for logfile in layout.logs.glob("*.log"):
        logfile.unlink()
    _record_host_state(layout)
    bridge_nf = _bridge_netfilter()

    _spawn(layout, "containerd", ["containerd", "--config", layout.containerd / "config.toml"])
    _wait("containerd", lambda: _ctr(layout, "version", timeout=5).returncode == 0, 30, layout, "containerd")
    if PAUSE_IMAGE not in _ctr(layout, "images", "ls", "-q").stdout.split():
        _import(layout, pause)
    step("containerd (+ pause image)")

    etcd_url = f"http://127.0.0.1:{ETCD_CLIENT}"
    peer_url = f"http://127.0.0.1:{ETCD_PEER}"
    _spawn(layout, "etcd", [
        "etcd", "--name", "node", "--data-dir", layout.etcd / "data", "--listen-client-urls", etcd_url,
        "--advertise-client-urls", etcd_url, "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls",
        peer_url, "--initial-cluster", f"node={peer_url}", "--listen-metrics-urls",
        f"http://127.0.0.1:{ETCD_METRICS}", "--log-level", "warn"])
    _wait("etcd", lambda: _http_ok(f"{etcd_url}/health", expect=b"true"), 30, layout, "etcd")
    step("etcd")

    P = layout.pki
    # Bound to every address: pods reach it through the `kubernetes` Service, whose endpoint is NODE_IP.
    _spawn(layout, "kube-apiserver", [
        BIN / "kube-apiserver", f"--etcd-servers={etcd_url}", "--bind-address=0.0.0.0",
        f"--secure-port={API_PORT}", f"--advertise-address={node_ip}", "--insecure-port=0",
        f"--tls-cert-file={P / 'apiserver.crt'}", f"--tls-private-key-file={P / 'apiserver.key'}",
        f"--client-ca-file={P / 'ca.crt'}",
        f"--kubelet-client-certificate={P / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={P / 'apiserver-kubelet-client.key'}",
        "--kubelet-preferred-address-types=InternalIP,Hostname", f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={P / 'sa.pub'}", f"--service-account-signing-key-file={P / 'sa.key'}",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction", "--allow-privileged=true",
        "--profiling=false",
        # the aggregation layer, for an API service of ours (a metrics API)
        f"--requestheader-client-ca-file={P / 'front-proxy-ca.crt'}",
        "--requestheader-allowed-names=front-proxy-client", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group", "--requestheader-username-headers=X-Remote-User",
        f"--proxy-client-cert-file={P / 'front-proxy-client.crt'}",
        f"--proxy-client-key-file={P / 'front-proxy-client.key'}", "--enable-aggregator-routing=true"])
    api = Api(layout, server)
    _wait("kube-apiserver", api.ready, 120, layout, "kube-apiserver")
    step("kube-apiserver ready")

    for name in ("controller-manager", "scheduler"):
        config = layout.kubeconfigs / f"{name}.kubeconfig"
        flags = [f"--kubeconfig={config}", f"--authentication-kubeconfig={config}",
                 f"--authorization-kubeconfig={config}", "--bind-address=127.0.0.1", "--port=0",
                 "--leader-elect=false"]
        if name == "controller-manager":
            flags += [f"--service-account-private-key-file={P / 'sa.key'}", f"--root-ca-file={P / 'ca.crt'}",
                      "--use-service-account-credentials=true",
                      f"--horizontal-pod-autoscaler-sync-period={hpa_sync_period}",
                      f"--cluster-signing-cert-file={P / 'ca.crt'}",
                      f"--cluster-signing-key-file={P / 'ca.key'}",
                      f"--flex-volume-plugin-dir={layout.kubelet / 'volume-plugins'}"]  # not /usr/libexec
        _spawn(layout, f"kube-{name}", [BIN / f"kube-{name}", *flags])

    for folder in ("root", "volume-plugins", "pki"):
        (layout.kubelet / folder).mkdir(parents=True, exist_ok=True)
    _spawn(layout, "kubelet", [
        BIN / "kubelet", f"--config={layout.kubelet / 'config.yaml'}",
        f"--kubeconfig={layout.kubeconfigs / 'kubelet.kubeconfig'}", "--container-runtime=remote",
        f"--container-runtime-endpoint=unix://{layout.socket}", f"--root-dir={layout.kubelet / 'root'}",
        f"--cert-dir={layout.kubelet / 'pki'}", f"--volume-plugin-dir={layout.kubelet / 'volume-plugins'}",
        f"--node-ip={node_ip}", f"--hostname-override={node_name}", "--resolv-conf=", "--v=1"],
        env={"AWS_EC2_METADATA_DISABLED": "true"})  # mandatory: no cloud metadata call may leave the machine

    _spawn(layout, "kube-proxy", [
        BIN / "kube-proxy", f"--kubeconfig={layout.kubeconfigs / 'kube-proxy.kubeconfig'}", "--proxy-mode=iptables",
        f"--hostname-override={node_name}", f"--cluster-cidr={POD_CIDR}",
        f"--metrics-bind-address=127.0.0.1:{PROXY_METRICS}", f"--healthz-bind-address=127.0.0.1:{PROXY_HEALTHZ}",
        "--conntrack-max-per-core=0", "--conntrack-tcp-timeout-established=0",
        "--conntrack-tcp-timeout-close-wait=0", *([] if bridge_nf else ["--masquerade-all"])])
    step("controllers, kubelet, proxy")

    _wait(f"node {node_name} Ready", lambda: api.node_ready(node_name), 120, layout, "kubelet")
    step(f"node {node_name} Ready")
    _wait("the default ServiceAccount",
          lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default"), 60, layout,
          "kube-controller-manager")
    _wait("kube-proxy", lambda: _http_ok(f"http://127.0.0.1:{PROXY_HEALTHZ}/healthz", expect=b"lastUpdated"), 30,
          layout, "kube-proxy")
    for name in ("kube-controller-manager", "kube-scheduler"):
        if _pid(layout, name) is None:
            _wait(name, lambda: False, 0, layout, name)
    ensure_volumes(layout, api)
    step("ServiceAccount, proxy, volumes")
    log(f"up in {time.monotonic() - started:.1f} s: {server}, node {node_name} ({node_ip})")

    node = Node(state_dir=str(S), kubeconfig=str(kubeconfig), node_ip=node_ip, node_name=node_name, server=server)
    layout.info.write_text(json.dumps({**asdict(node), "bridge_netfilter": bridge_nf,
                                       "hpa_sync_period": hpa_sync_period}, indent=2))
    return node


# ---------------------------------------------------------------------------------------------- down


def down() -> None:
    """Stop the node and leave nothing behind: no process, mount, network device, iptables chain, changed
    sysctl or path outside the state folder. Fast (pods are killed, not drained). Safe when nothing runs."""
    if os.geteuid() != 0:
        _as_root("down")
        return
    layout = Layout()
    if not layout.root.exists():
        return
    with _locked(layout):
        _teardown(layout)


def _teardown(layout: Layout, quiet: bool = False) -> None:
    started = time.monotonic()
    info = _info(layout) or {}
    for name in reversed(COMPONENTS[1:]):
        _stop(layout, name)
    if _pid(layout, "containerd") is not None:
        _kill_containers(layout)
    _stop(layout, "containerd", timeout=20)
    _kill_strays(layout)
    _unmount(layout.root)
    _remove_network()
    _iptables_cleanup(layout)
    _restore_host_state(layout)
    layout.iptables.unlink(missing_ok=True)
    _remove_cgroups()
    _remove_outside_paths()
    shutil.rmtree(layout.kubelet / "root", ignore_errors=True)
    shutil.rmtree(layout.containerd / "state", ignore_errors=True)
    shutil.rmtree(layout.cni / "ipam", ignore_errors=True)
    shutil.rmtree(layout.etcd / "data", ignore_errors=True)
    for path in info.get("kubeconfigs", []):
        Path(path).unlink(missing_ok=True)
    layout.info.unlink(missing_ok=True)
    if info and not quiet:
        log(f"down in {time.monotonic() - started:.1f} s")
    elif not quiet:
        log("down (nothing was up)")


def _kill_containers(layout: Layout) -> None:
    """KILL every task and delete every container: no drain (kubelet 1.20 takes a minute per pod deletion).
    The veths go with their network namespaces, unmounted next; IPAM state is in the state folder."""
    for namespace in ("k8s.io", "default"):
        tasks = _ctr(layout, "tasks", "ls", "-q", namespace=namespace, check=False).stdout.split()
        for task in tasks:
            _ctr(layout, "tasks", "kill", "-s", "SIGKILL", task, namespace=namespace, check=False)
        deadline = time.monotonic() + 5
        for task in tasks:
            while time.monotonic() < deadline and _ctr(layout, "tasks", "rm", "-f", task, namespace=namespace,
                                                       check=False).returncode != 0:
                if task not in _ctr(layout, "tasks", "ls", "-q", namespace=namespace, check=False).stdout.split():
                    break
                time.sleep(0.2)
        for container in _ctr(layout, "containers", "ls", "-q", namespace=namespace, check=False).stdout.split():
            _ctr(layout, "containers", "rm", container, namespace=namespace, check=False)


def _kill_strays(layout: Layout) -> None:
    """KILL what containerd lost: a pod's process (its cgroup is under ``kubepods``) or a shim of our socket.
    Matched narrowly, never by a name alone, so nothing else on the machine is touched."""
    socket = str(layout.socket).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cgroups = (proc / "cgroup").read_text()
            shim = (proc / "comm").read_text().startswith("containerd-shim") and \
                socket in (proc / "cmdline").read_bytes()
            if shim or any(line.split(":", 2)[-1].startswith("/kubepods") for line in cgroups.splitlines()):
                os.kill(int(proc.name), signal.SIGKILL)


def _mounts() -> list[str]:
    with open("/proc/mounts") as mounts:
        return [line.split()[1].replace("\\040", " ") for line in mounts]


def _unmount(root: Path) -> None:
    """Unmount the overlay root filesystems, network namespaces and volume tmpfs under the state folder (and
    under /run/containerd unless another containerd owns it), deepest first; lazily when busy."""
    prefixes = (f"{root}/",) if _other_containerd() else (f"{root}/", "/run/containerd/")
    for _ in range(3):
        targets = sorted((m for m in _mounts() if m.startswith(prefixes)), reverse=True)
        if not targets:
            return
        for target in targets:
            if subprocess.run(["umount", target], check=False, capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", target], check=False, capture_output=True)


def _remove_network() -> None:
    """Delete the bridge and any veth left on it."""
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        return
    for port in Path(f"/sys/class/net/{BRIDGE}/brif").iterdir():
        subprocess.run(["ip", "link", "del", port.name], check=False, capture_output=True)
    subprocess.run(["ip", "link", "del", BRIDGE], check=False, capture_output=True)


def _remove_cgroups() -> None:
    """The kubelet's ``kubepods`` trees, one per cgroup v1 controller (empty once the pods are dead)."""
    for tree in Path("/sys/fs/cgroup").glob("*/kubepods"):
        for folder in sorted((p for p in tree.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            tree.rmdir()


def _remove_outside_paths() -> None:
    """The paths the kubelet, containerd's shims and CNI library write outside the state folder."""
    for path in OUTSIDE_PATHS:
        shutil.rmtree(path, ignore_errors=True)
    if not _other_containerd():
        shutil.rmtree("/run/containerd", ignore_errors=True)
    for path in OUTSIDE_PARENTS:
        with contextlib.suppress(OSError):
            os.rmdir(path)


def _other_containerd() -> bool:
    """Whether some containerd not ours runs (then /run/containerd is its too, and stays)."""
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "containerd":
                return True
    return False


# ---------------------------------------------------------------------------------------------- load, status


def load(archives: list[Path]) -> list[str]:
    """Import OCI image archives (``buildah push IMAGE oci-archive:FILE:docker.io/NAME:TAG``) into the node's
    containerd, where the kubelet finds them (pods use ``imagePullPolicy: IfNotPresent`` or ``Never``).
    Returns the image names imported; fails when an archive does not name its image in full."""
    if os.geteuid() != 0:
        _as_root("load", *[str(Path(a).resolve()) for a in archives])
        return [n for a in archives for n in archive_images(Path(a))]
    layout = Layout()
    if _pid(layout, "containerd") is None:
        raise RuntimeError("node: not up (containerd is not running); run `node.py up` first")
    names = []
    for archive in archives:
        started = time.monotonic()
        imported = _import(layout, Path(archive))
        log(f"loaded {', '.join(imported)} from {archive} in {time.monotonic() - started:.1f} s")
        names += imported
    return names


def status() -> bool:
    """Print each part (pid, health) and the node's state; True when all is up and the node Ready."""
    layout = Layout()
    info = _info(layout)
    healthy = True
    for name in COMPONENTS:
        pid = _pid(layout, name)
        healthy &= pid is not None
        print(f"{name:<24} {'pid ' + str(pid) if pid else 'not running'}")
    if info is None:
        print("node: down")
        return False
    api = Api(layout, info["server"])
    ready, node_ready = api.ready(), api.node_ready(info["node_name"])
    print(f"{'api server':<24} {info['server']} {'ready' if ready else 'NOT ready'}")
    print(f"{'node':<24} {info['node_name']} ({info['node_ip']}) {'Ready' if node_ready else 'NOT Ready'}")
    print(f"{'kubeconfig':<24} {', '.join(info.get('kubeconfigs', [])) or layout.admin}")
    return healthy and ready and node_ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    up_parser = sub.add_parser("up", help="start (or reuse) the node and write the kubeconfig")
    up_parser.add_argument("--kubeconfig", type=Path, default=Path(".kube/cluster.config"),
                           help="where to write the admin kubeconfig [.kube/cluster.config]")
    up_parser.add_argument("--hpa-sync-period", default=HPA_SYNC_PERIOD,
                           help=f"kube-controller-manager's --horizontal-pod-autoscaler-sync-period [{HPA_SYNC_PERIOD}]")
    sub.add_parser("down", help="stop the node and clean the host")
    sub.add_parser("status", help="show the parts and the node")
    load_parser = sub.add_parser("load", help="import OCI image archives into the node")
    load_parser.add_argument("archives", nargs="+", type=Path)
    args = parser.parse_args()
    if args.action in ("up", "load") and (reason := unsupported()):
        print(f"node: this machine cannot run a node: {reason}", file=sys.stderr)
        return 2
    try:
        if args.action == "up":
            node = up(args.kubeconfig, args.hpa_sync_period)
            print(f"  KUBECONFIG={node.kubeconfig} kubectl get nodes")
        elif args.action == "down":
            down()
        elif args.action == "load":
            load(args.archives)
        else:
            return 0 if status() else 1
    except (RuntimeError, ValueError, subprocess.CalledProcessError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
