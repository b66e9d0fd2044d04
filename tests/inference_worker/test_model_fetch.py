"""Workers that download their model from a real control plane: checksummed, with a token, cached.

The control plane is its web server on a migrated SQLite file (``LiveSite``) with a real IR model uploaded; its
Prometheus counters tell how many downloads it served. Retries, truncated bodies and redirects are
exercised against a scripted HTTP server on loopback, where each answer can be chosen.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from inference_worker import protocol
from inference_worker.model_fetch import local_model
from inference_worker.model_store import ModelError
from tests.controlplane.realtime.live import LiveSite
from tests.inference_worker.synthetic_models import SSD_PRIORS, ssd_model
from harness.processes import Proc, free_port, wait_until
from tests.support import frame_bytes, jpeg_of, results, worker_command

UPLOAD = """
from django.core.files import File
from controlplane.registry.actions import model_create
with open({xml!r}, "rb") as xml, open({weights!r}, "rb") as weights:
    model = model_create(name="faces", file=File(xml), weights=File(weights))
print(model.pk, model.file_sha256, model.weights_sha256)
"""
REQUESTS_BY_VIEW = "django_http_requests_total_by_view_transport_method"
WHITE = jpeg_of(np.full((64, 64, 3), 255, np.uint8))  # the synthetic SSD finds faces in a bright image


@dataclass
class Published:
    """An IR model uploaded to a running control plane, and the worker token that may download it."""

    site: LiveSite
    model_id: int
    model_sha256: str
    weights_sha256: str
    token: str

    def url(self, filename: str) -> str:
        return f"http://127.0.0.1:{self.site.port}/api/models/{self.model_id}/files/{filename}/"

    def downloads_served(self) -> float:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.site.port}/metrics", timeout=10).read().decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text) if family.name == REQUESTS_BY_VIEW
            for sample in family.samples if sample.labels.get("view") == "model-file"
        )


@pytest.fixture(scope="module")
def published(redis_server, tmp_path_factory) -> Iterator[Published]:
    site = LiveSite(tmp_path_factory.mktemp("control-plane"), redis_server["url"]).start()
    models = tmp_path_factory.mktemp("models")
    ssd_model(models)
    out = site.manage(
        "shell", "--no-imports", "-c",
        UPLOAD.format(xml=str(models / "synthetic_ssd.xml"), weights=str(models / "synthetic_ssd.bin")),
    )
    model_id, model_sha256, weights_sha256 = out.split()
    yield Published(site, int(model_id), model_sha256, weights_sha256, site.manage("worker_token").strip())
    site.stop()


def ir_flags(published: Published, model_sha256: str | None = None) -> list[str]:
    return [
        "--labels", "background,face",
        "--model-sha256", model_sha256 or published.model_sha256,
        "--weights-url", published.url("synthetic_ssd.bin"), "--weights-sha256", published.weights_sha256,
    ]


def start_worker(tmp_path: Path, redis_url: str, model: str, *flags: str, token: str, name: str) -> Proc:
    return Proc(
        worker_command(redis_url, "faces", model, "--worker-id", name, "--cache-dir", str(tmp_path / "cache"), *flags),
        tmp_path / f"{name}.log", env={"EI_MODEL_TOKEN": token},
    )


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


def exit_line(proc: Proc) -> tuple[int, str]:
    """The exit code of a worker that refuses to start, and its last line."""
    code = proc.popen.wait(60)
    return code, proc.output().strip().splitlines()[-1]


def test_a_worker_downloads_an_uploaded_ir_model_infers_and_restarts_from_its_cache(r, redis_url, published, tmp_path):
    model_url = published.url("synthetic_ssd.xml")
    served = published.downloads_served()

    for seq, name in enumerate(("first", "restarted")):
        worker = start_worker(tmp_path, redis_url, model_url, *ir_flags(published), token=published.token, name=name)
        wait_until(lambda: r.exists(protocol.worker_key(name)) or worker.popen.poll() is not None, 60, "a heartbeat")
        assert worker.popen.poll() is None, worker.output()
        r.rpush(protocol.frames_key("faces"), frame_bytes("door", seq, WHITE))
        wait_until(lambda: len(results(r, "door")) == seq + 1, 30, "the result")
        meta, _ = results(r, "door")[-1]
        assert meta["model"] == "synthetic_ssd.xml" and meta["seq"] == seq
        # The synthetic model's fingerprint: faces exactly at its priors 0 and 1 (2 is suppressed).
        assert [(d["label"], d["box"]) for d in meta["detections"]] == [("face", box) for box in SSD_PRIORS[:2].tolist()]
        assert worker.terminate() == 0, worker.output()
        assert published.downloads_served() == served + 2, "the .xml and the .bin once, none at the restart"

    assert "using the cached download" in worker.output()
    assert files_under(tmp_path / "cache" / "downloads") == [
        f"{published.model_sha256}/synthetic_ssd.bin", f"{published.model_sha256}/synthetic_ssd.xml"
    ]


def test_a_wrong_checksum_stops_the_worker_and_leaves_no_file(redis_url, published, tmp_path):
    wrong = "0" * 64
    worker = start_worker(
        tmp_path, redis_url, published.url("synthetic_ssd.xml"), *ir_flags(published, wrong),
        token=published.token, name="checked",
    )
    assert exit_line(worker) == (
        2, f"worker: checksum mismatch for {published.url('synthetic_ssd.xml')}: "
           f"expected {wrong}, got {published.model_sha256}",
    )
    assert files_under(tmp_path / "cache") == []


@pytest.mark.parametrize("token", ["", "not-a-worker-token"])
def test_a_missing_or_wrong_token_is_one_line_naming_http_401_and_the_variable(redis_url, published, tmp_path, token):
    worker = start_worker(
        tmp_path, redis_url, published.url("synthetic_ssd.xml"), *ir_flags(published), token=token, name="refused"
    )
    assert exit_line(worker) == (
        2, "worker: the control plane refused the model download (HTTP 401): set EI_MODEL_TOKEN to a worker token "
           "(manage.py worker_token prints it)",
    )
    assert files_under(tmp_path / "cache") == []


@pytest.mark.parametrize("flags, message", [
    ((), "--model-sha256 is required with {url}: the sha256 the control plane shows for that file"),
    (("--model-sha256", "abc"), "--model-sha256 must be 64 hex digits, not 'abc'"),
    (("--model-sha256", "a" * 64), "{url} is an OpenVINO IR .xml: give its .bin with --weights-url and --weights-sha256"),
    (("--model-sha256", "a" * 64, "--weights-url", "http://127.0.0.1:9/m.bin"),
     "--weights-sha256 is required with http://127.0.0.1:9/m.bin: the sha256 the control plane shows for that file"),
])
def test_a_url_without_its_checksums_is_refused_before_any_download(redis_url, tmp_path, flags, message):
    url = "http://127.0.0.1:9/api/models/1/files/model.xml/"  # nothing listens on port 9 (discard)
    worker = start_worker(tmp_path, redis_url, url, *flags, token="", name="unchecked")
    assert worker.popen.wait(60) == 2
    assert worker.output().strip() == f"worker: {message.format(url=url)}", "one line, no download attempt logged"


def test_a_file_the_control_plane_does_not_have_is_its_404_message(published, tmp_path):
    with pytest.raises(ModelError) as refused:
        local_model(published.url("other.onnx"), sha256="a" * 64, cache_dir=tmp_path, token=published.token)
    assert str(refused.value) == (
        f"cannot download {published.url('other.onnx')} (HTTP 404): Model faces:1 has no file named 'other.onnx'; "
        "its files: synthetic_ssd.bin, synthetic_ssd.xml."
    )


class ScriptedServer:
    """A loopback HTTP server answering each request with the next (status, headers, body) of a script;
    it records each request's path and Authorization header."""

    def __init__(self, script: list[tuple[int, dict[str, str], bytes]]):
        self.script, self.seen = list(script), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.seen.append((self.path, self.headers.get("Authorization")))
                status, headers, body = server.script.pop(0)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted() -> Iterator[Callable[[list], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(script):
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


MODEL = b"not really onnx, but bytes with a known checksum" * 1000
MODEL_SHA256 = hashlib.sha256(MODEL).hexdigest()


def whole(body: bytes = MODEL) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Length": str(len(body))}, body


def test_a_truncated_body_and_a_5xx_are_retried_until_the_whole_file_comes(scripted, tmp_path):
    server = scripted([
        (200, {"Content-Length": str(len(MODEL))}, MODEL[:1000]),  # the connection closes early
        (503, {"Content-Length": "0"}, b""),
        whole(),
    ])
    path = local_model(f"http://127.0.0.1:{server.port}/m.onnx", sha256=MODEL_SHA256, cache_dir=tmp_path)
    assert Path(path).read_bytes() == MODEL and len(server.seen) == 3
    assert files_under(tmp_path) == [f"downloads/{MODEL_SHA256}/m.onnx"], "no partial file is left"


def test_a_cached_file_is_reused_only_while_its_checksum_matches(scripted, tmp_path):
    server = scripted([whole(), whole()])
    url = f"http://127.0.0.1:{server.port}/api/models/7/files/m.onnx/"
    path = Path(local_model(url, sha256=MODEL_SHA256, cache_dir=tmp_path))
    assert local_model(url, sha256=MODEL_SHA256, cache_dir=tmp_path) == str(path)
    assert len(server.seen) == 1, "the second start makes no request"

    path.write_bytes(b"damaged on disk")
    local_model(url, sha256=MODEL_SHA256, cache_dir=tmp_path)
    assert len(server.seen) == 2 and path.read_bytes() == MODEL


def test_the_token_follows_redirects_on_the_same_origin_only(scripted, tmp_path):
    server = scripted([])
    elsewhere = f"http://localhost:{server.port}/mirror/m.onnx"
    server.script += [
        (301, {"Location": f"http://127.0.0.1:{server.port}/m.onnx/", "Content-Length": "0"}, b""),
        (302, {"Location": elsewhere, "Content-Length": "0"}, b""),
        whole(),
    ]
    local_model(f"http://127.0.0.1:{server.port}/m.onnx", sha256=MODEL_SHA256, cache_dir=tmp_path, token="secret")
    assert server.seen == [("/m.onnx", "Token secret"), ("/m.onnx/", "Token secret"), ("/mirror/m.onnx", None)]


def test_an_unreachable_control_plane_is_given_up_after_a_few_tries(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/m.onnx"
    with pytest.raises(ModelError, match=rf"^cannot download {url} after 5 tries: \[Errno 111\] Connection refused$"):
        local_model(url, sha256=MODEL_SHA256, cache_dir=tmp_path)
    assert files_under(tmp_path) == []
