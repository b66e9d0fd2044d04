"""The deploy kit: it renders with kustomize, carries no secrets and no more rights than the reconciler
needs, points every setting at a name the code reads, and the API server accepts every object of it.
Then the image build script: what it would run, and how it refuses bad arguments."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from harness.processes import REPO

KUBECTL = "/usr/bin/kubectl"
K8S = REPO / "k8s"
BUILD = REPO / "container" / "build.sh"
KITS = {"base": "elastic-inference", "overlays/example": "video-analytics"}
PART_OF = {"app.kubernetes.io/part-of": "elastic-inference"}
CONTROLPLANE_IMAGE = "elastic-inference/controlplane"
SERVICE_ACCOUNT = "elastic-inference-controlplane"
SECRET_ENV = {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_PASSWORD"}
CLUSTER_WIDE_KINDS = {"ClusterRole", "ClusterRoleBinding", "Namespace", "CustomResourceDefinition"}


def kustomize(path: Path) -> str:
    done = subprocess.run([KUBECTL, "kustomize", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def render(kit: str) -> list[dict]:
    return [obj for obj in yaml.safe_load_all(kustomize(K8S / kit)) if obj]


def pod_spec(obj: dict) -> dict | None:
    return obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else None


def containers(objects: list[dict]) -> list[dict]:
    found = []
    for obj in objects:
        if spec := pod_spec(obj):
            found += spec.get("initContainers", []) + spec["containers"]
    return found


def controlplane_containers(objects: list[dict]) -> list[dict]:
    return [c for c in containers(objects) if CONTROLPLANE_IMAGE in c["image"]]


def named(objects: list[dict], kind: str, name: str) -> dict:
    return next(obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name)


@pytest.fixture(scope="module", params=list(KITS))
def kit(request) -> tuple[str, list[dict]]:
    return request.param, render(request.param)


def test_kit_renders_the_control_plane_into_its_namespace(kit):
    name, objects = kit
    deployments = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Deployment"}
    assert deployments == {
        "elastic-inference-controlplane", "elastic-inference-analytics", "elastic-inference-celery-worker",
        "elastic-inference-celery-beat", "elastic-inference-redis",
    }
    namespaced = [obj for obj in objects if obj["kind"] != "Namespace"]
    assert {obj["metadata"]["namespace"] for obj in namespaced} == {KITS[name]}
    cluster_wide = [(obj["kind"], obj["metadata"]["name"]) for obj in objects if obj["kind"] in CLUSTER_WIDE_KINDS]
    assert cluster_wide == [("Namespace", KITS[name])]  # its own namespace, and nothing else beyond it


def test_every_object_and_pod_is_labelled_part_of_elastic_inference(kit):
    _, objects = kit
    for obj in objects:
        assert PART_OF.items() <= obj["metadata"]["labels"].items(), obj["metadata"]["name"]
        if pod_spec(obj):
            assert PART_OF.items() <= obj["spec"]["template"]["metadata"]["labels"].items()
            selector = obj["spec"]["selector"]["matchLabels"]
            assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()
    # a kit object must never look like one the reconciler owns, or it would delete it as an orphan
    assert not [obj for obj in objects if "app.kubernetes.io/managed-by" in obj["metadata"]["labels"]]


def test_role_is_namespaced_and_grants_no_wildcards_and_no_secrets(kit):
    name, objects = kit
    role = named(objects, "Role", "elastic-inference-reconciler")
    for rule in role["rules"]:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
        assert "secrets" not in rule["resources"]
    binding = named(objects, "RoleBinding", "elastic-inference-reconciler")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": KITS[name]}]
    # the reconciler runs in the Celery worker (and by hand in the server); nothing else gets a token
    for obj in objects:
        if spec := pod_spec(obj):
            if obj["metadata"]["name"] in ("elastic-inference-controlplane", "elastic-inference-celery-worker"):
                assert spec["serviceAccountName"] == SERVICE_ACCOUNT
            else:
                assert "serviceAccountName" not in spec and spec["automountServiceAccountToken"] is False


def test_kit_holds_no_secret_values(kit):
    _, objects = kit
    assert not [obj for obj in objects if obj["kind"] == "Secret"]
    for container in containers(objects):
        for env in container.get("env", []):
            if env["name"] in SECRET_ENV | {"REDISCLI_AUTH"}:
                assert "value" not in env and env["valueFrom"]["secretKeyRef"]["name"] == "elastic-inference", env


def test_control_plane_containers_share_one_environment_of_settings_the_code_reads(kit):
    _, objects = kit
    envs = controlplane_containers(objects)
    assert len(envs) == 5  # migrate, server, analytics, celery worker, celery beat
    names = [[env["name"] for env in c["env"]] for c in envs]
    assert all(n == names[0] for n in names) and all(c["envFrom"] == envs[0]["envFrom"] for c in envs)
    # Kubernetes expands $(REDIS_PASSWORD) only from a variable defined before the one that uses it
    redis_url = next(env["value"] for env in envs[0]["env"] if env["name"] == "REDIS_URL")
    assert "$(REDIS_PASSWORD)" in redis_url and names[0].index("REDIS_PASSWORD") < names[0].index("REDIS_URL")

    settings_source = (REPO / "controlplane" / "config" / "settings.py").read_text()
    read_by_settings = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', settings_source))
    config = named(objects, "ConfigMap", "elastic-inference-config")["data"]
    assert set(config) | (set(names[0]) - {"REDIS_PASSWORD"}) <= read_by_settings
    assert config["EI_BACKEND"] == "kubernetes"
    assert config["EI_K8S_CONTROL_PLANE_URL"] == "http://elastic-inference-controlplane:8000"
    assert "elastic-inference-controlplane" in config["DJANGO_ALLOWED_HOSTS"].split(",")


def test_pods_run_as_the_image_user_without_privileges(kit):
    from controlplane.orchestration.manifests import RUN_AS_USER  # the worker pods the reconciler makes

    _, objects = kit
    for dockerfile in ("Dockerfile.controlplane", "Dockerfile.worker"):
        text = (REPO / "container" / dockerfile).read_text()
        assert f"--uid {RUN_AS_USER} " in text and f"USER {RUN_AS_USER}:{RUN_AS_USER}" in text
    for obj in objects:
        if spec := pod_spec(obj):
            assert spec["securityContext"]["runAsNonRoot"] is True
            if obj["metadata"]["labels"]["app.kubernetes.io/name"] == "controlplane":
                assert spec["securityContext"]["runAsUser"] == RUN_AS_USER
    for container in containers(objects):
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_overlay_takes_every_image_from_its_registry_and_tag():
    overlay = yaml.safe_load((K8S / "overlays" / "example" / "kustomization.yaml").read_text())
    image = next(i for i in overlay["images"] if i["name"] == CONTROLPLANE_IMAGE)
    registry = image["newName"].removesuffix("/" + CONTROLPLANE_IMAGE)
    assert registry and registry != image["newName"]
    objects = render("overlays/example")
    ours = [c["image"] for c in containers(objects) if "elastic-inference/" in c["image"]]
    ours.append(named(objects, "ConfigMap", "elastic-inference-config")["data"]["EI_K8S_WORKER_IMAGE"])
    assert len(ours) == 6  # migrate, server, analytics, celery worker and beat, and the workers
    for ref in ours:
        assert ref.startswith(registry + "/elastic-inference/") and ref.endswith(":" + image["newTag"]), ref


def test_prometheus_adapter_serves_the_worker_gauges_the_autoscalers_read():
    from controlplane.scaling.metrics import SCALING_METRICS
    from inference_worker.metrics import WorkerMetrics

    exported = {metric.name for metric in WorkerMetrics(queue="q").registry.collect()}
    adapter = named(render("base"), "ConfigMap", "elastic-inference-prometheus-adapter")
    (rule,) = yaml.safe_load(adapter["data"]["config.yaml"])["rules"]
    series = re.search(r'__name__=~"([^"]+)"', rule["seriesQuery"]).group(1)
    as_python = re.sub(r"\$\{(\d+)\}", r"\\g<\1>", rule["name"]["as"])  # Go's ${1} is Python's \g<1>
    served = {re.sub(rule["name"]["matches"], as_python, name)
              for name in exported if re.fullmatch(series, name) and re.search(rule["name"]["matches"], name)}
    assert served == {metric.pod_metric for metric in SCALING_METRICS if metric.per_pod}
    assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}


def kubectl(cluster, *args: str, manifest: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([KUBECTL, *args], input=manifest, capture_output=True, text=True,
                          env={**os.environ, "KUBECONFIG": cluster.kubeconfig})
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def kit_namespace(kube_cluster):
    """A fresh namespace, made with kubectl as k8s/README.md does. This API server runs no namespace
    controller: a deleted namespace stays Terminating, so the kit's own names could not be reused."""
    name = f"ei-kit-{uuid.uuid4().hex[:8]}"
    kubectl(kube_cluster, "create", "namespace", name)
    yield name
    kubectl(kube_cluster, "delete", "namespace", name, "--wait=false")


@pytest.mark.parametrize("kit_name", list(KITS))
def test_api_server_accepts_the_whole_kit_in_a_server_side_dry_run(kit_name, kube_cluster, kit_namespace, tmp_path):
    """A kustomization around the kit moves it into the fresh namespace, as an overlay would."""
    wrapper = {"namespace": kit_namespace, "resources": [os.path.relpath(K8S / kit_name, tmp_path)]}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(wrapper))
    manifest = kustomize(tmp_path)
    objects = [obj for obj in yaml.safe_load_all(manifest) if obj]
    assert {obj["metadata"].get("namespace", obj["metadata"]["name"]) for obj in objects} == {kit_namespace}
    done = kubectl(kube_cluster, "apply", "--server-side", "--dry-run=server", "-f", "-", manifest=manifest)
    accepted = [line for line in done.stdout.splitlines() if line.endswith("serverside-applied (server dry run)")]
    assert len(accepted) == len(objects), done.stdout
    # a dry run writes nothing
    left = kubectl(kube_cluster, "get", "deployments,services,configmaps,pvc,roles", "-n", kit_namespace, "-o", "name")
    assert "elastic-inference" not in left.stdout


def build(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BUILD), *args], capture_output=True, text=True, env=env)


def engine() -> str:
    return next((name for name in ("docker", "podman", "buildah") if shutil.which(name)), "docker")


def path_with_engines(tmp_path: Path, *engines: str) -> dict[str, str]:
    """An environment whose PATH holds only what build.sh's dry run uses, and stand-ins for `engines`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sed", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    for name in engines:
        (bin_dir / name).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": str(bin_dir)}


def test_build_dry_run_prints_one_build_per_dockerfile_with_the_registry_tags():
    done = build("-n", "-r", "reg.example:5000", "-t", "v1")
    assert done.returncode == 0, done.stderr
    commands = [shlex.split(line) for line in done.stdout.splitlines()]
    assert commands[0] == ["cd", str(REPO)]
    builds = {}
    for command in commands[1:]:
        assert command[:2] == [engine(), "build"] and command[-1] == ".", command
        dockerfile = command[command.index("-f") + 1]
        assert (REPO / dockerfile).is_file()
        builds[dockerfile] = command[command.index("-t") + 1]
    assert builds == {
        "container/Dockerfile.controlplane": "reg.example:5000/elastic-inference/controlplane:v1",
        "container/Dockerfile.worker": "reg.example:5000/elastic-inference/worker:v1",
    }


def test_build_pushes_both_images_with_p():
    pushes = [line for line in build("-n", "-p", "-r", "reg.example:5000").stdout.splitlines() if " push " in line]
    assert pushes == [f"{engine()} push reg.example:5000/elastic-inference/{image}:latest"
                      for image in ("controlplane", "worker")]


@pytest.mark.parametrize("engines, chosen", [(("podman", "buildah"), "podman"), (("buildah",), "buildah"),
                                             (("docker", "podman", "buildah"), "docker")])
def test_build_takes_docker_then_podman_then_buildah(tmp_path, engines, chosen):
    done = build("-n", "-r", "reg.example:5000", env=path_with_engines(tmp_path, *engines))
    assert done.returncode == 0, done.stderr
    builds = [shlex.split(line) for line in done.stdout.splitlines()[1:]]
    assert [command[:2] for command in builds] == [[chosen, "build"]] * 2
    for command in builds:  # docker reads the .dockerignore beside the Dockerfile, the others are told
        dockerfile = command[command.index("-f") + 1]
        assert ("--ignorefile" in command) == (chosen != "docker")
        if chosen != "docker":
            assert command[command.index("--ignorefile") + 1] == f"{dockerfile}.dockerignore"


def test_build_with_no_engine_says_so(tmp_path):
    missing = build("-r", "reg.example:5000", env=path_with_engines(tmp_path))
    assert missing.returncode == 1 and missing.stderr == "build: none of docker, podman or buildah is installed\n"


def test_build_passes_the_base_image_as_build_arg_to_both_dockerfiles():
    done = build("-n", "-r", "reg.example:5000", "-b", "localhost/elastic-inference/python:3.11-bookworm")
    assert done.returncode == 0, done.stderr
    builds = [shlex.split(line) for line in done.stdout.splitlines()[1:]]
    assert len(builds) == 2
    for command in builds:  # beside any proxy build args
        args = [command[i + 1] for i, arg in enumerate(command) if arg == "--build-arg"]
        assert "BASE=localhost/elastic-inference/python:3.11-bookworm" in args
    without = [shlex.split(line) for line in build("-n", "-r", "reg.example:5000").stdout.splitlines()[1:]]
    assert not any(arg.startswith("BASE=") for command in without for arg in command)
    for dockerfile in ("Dockerfile.controlplane", "Dockerfile.worker"):  # the default stays Docker Hub's
        lines = (REPO / "container" / dockerfile).read_text().splitlines()
        assert "ARG BASE=python:3.11-slim-bookworm" in lines and "FROM ${BASE}" in lines


def test_build_help_and_argument_errors():
    shown = build("-h")
    assert shown.returncode == 0 and shown.stdout.startswith("usage: build.sh -r REGISTRY")
    for args, message in ((["-t", "v1"], "-r REGISTRY is required"), (["-n", "-r", "reg", "-x"], "unknown option -x"),
                          (["-n", "-r", "reg", "-t", "a tag"], "invalid tag"),
                          (["-n", "-r", "reg", "-b"], "-b needs a value"),
                          (["-n", "-r", "reg", "-b", "base; rm -rf /"], "invalid base image")):
        refused = build(*args)
        assert refused.returncode == 2 and refused.stdout == "", args
        assert refused.stderr.startswith(f"build: {message}") and "usage: build.sh" in refused.stderr


def test_metrics_api_component_registers_its_service_with_tls_and_least_rights(kube_cluster):
    """The optional component: the APIServices verify the server (no insecureSkipTLSVerify), its account
    may list pods in its namespace, read the front-proxy settings and delegate auth, and nothing else; and
    the API server accepts it all in a server-side dry run."""
    objects = render("components/metrics-api")
    apis = {obj["metadata"]["name"]: obj["spec"] for obj in objects if obj["kind"] == "APIService"}
    assert set(apis) == {"v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io",
                         "v1beta1.external.metrics.k8s.io"}
    for spec in apis.values():
        assert spec["service"] == {"namespace": "elastic-inference", "name": "elastic-inference-metrics-api", "port": 443}
        assert "caBundle" in spec and not spec.get("insecureSkipTLSVerify")
    server = named(objects, "Deployment", "elastic-inference-metrics-api")["spec"]["template"]["spec"]
    assert server["containers"][0]["command"] == ["python", "manage.py", "serve_metrics_api"]
    assert server["containers"][0]["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert named(objects, "Role", "elastic-inference-metrics-api")["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    refs = {(obj["metadata"].get("namespace"), obj["roleRef"]["name"]) for obj in objects if "roleRef" in obj}
    assert refs == {("elastic-inference", "elastic-inference-metrics-api"),
                    ("kube-system", "extension-apiserver-authentication-reader"), (None, "system:auth-delegator"),
                    (None, "elastic-inference:external-metrics-reader")}
    assert all(obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "elastic-inference" for obj in objects)

    subprocess.run([KUBECTL, "create", "namespace", "elastic-inference"], capture_output=True,
                   env={**os.environ, "KUBECONFIG": kube_cluster.kubeconfig})  # may exist already: fine
    # a client-side apply, as make cluster-deploy does: a 1.20 API server fails server-side apply of an APIService
    done = kubectl(kube_cluster, "apply", "--dry-run=server", "-f", "-",
                   manifest=kustomize(K8S / "components" / "metrics-api"))
    assert done.stdout.count("(server dry run)") == len(objects), done.stdout
