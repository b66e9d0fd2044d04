"""Models by URL: a worker pod downloads an uploaded model from the control plane, checked by sha256.

Downloads land in ``<cache dir>/downloads/<model sha256>/<file name>``, an IR's weights beside its .xml
under the stem OpenVINO looks for. A file already there with the expected checksum is used as it is, so a
restarted worker makes no request. The API token comes from ``EI_MODEL_TOKEN`` only: a flag would show in
``ps``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

from inference_worker.model_store import SUPPORTED_SUFFIXES, ModelError, sha256_of
from inference_worker.runtime import Backoff

log = logging.getLogger("ei.models")

TOKEN_ENV = "EI_MODEL_TOKEN"
ATTEMPTS = 5  # with the backoff below, about 7.5 s of retrying in all: a control plane that is restarting
BACKOFF_BASE = 0.5
TIMEOUT = 30.0  # seconds without a byte before a try fails
CHUNK = 1 << 20
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_url(spec: str) -> bool:
    return urllib.parse.urlsplit(spec).scheme in ("http", "https")


class _TokenStaysHome(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but send the token only to the origin it was given for."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        redirected = super().redirect_request(req, fp, code, msg, headers, newurl)
        if redirected is not None and _origin(newurl) != _origin(req.full_url):
            redirected.remove_header("Authorization")
        return redirected


_OPENER = urllib.request.build_opener(_TokenStaysHome)


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


def local_model(
    spec: str, *, sha256: str = "", weights_url: str = "", weights_sha256: str = "", cache_dir: Path, token: str = ""
) -> str:
    """``spec`` as given, or for an http(s) URL the path of its verified download (an IR's weights beside it).

    Every flag is checked before the first byte is fetched, so a mistake costs no download.
    """
    if not is_url(spec):
        if sha256 or weights_url or weights_sha256:
            raise ModelError("--model-sha256, --weights-url and --weights-sha256 go with a --model URL")
        return spec
    name = _file_name(spec)
    model_sha256 = _checksum(sha256, "--model-sha256", spec)
    is_ir = name.lower().endswith(".xml")
    if is_ir and not weights_url:
        raise ModelError(f"{spec} is an OpenVINO IR .xml: give its .bin with --weights-url and --weights-sha256")
    if weights_url and not is_ir:
        raise ModelError("--weights-url goes with an OpenVINO IR .xml only")
    if weights_url:
        if not is_url(weights_url):
            raise ModelError(f"--weights-url {weights_url!r} is not an http(s) URL")
        weights_sha256 = _checksum(weights_sha256, "--weights-sha256", weights_url)
    target = cache_dir / "downloads" / model_sha256 / name
    _fetch(spec, model_sha256, target, token)
    if weights_url:
        _fetch(weights_url, weights_sha256, target.with_suffix(".bin"), token)
    return str(target)


def _file_name(url: str) -> str:
    """The URL's last path segment, which must name a model file."""
    parts = urllib.parse.urlsplit(url)
    name = PurePosixPath(urllib.parse.unquote(parts.path)).name
    if not parts.hostname:
        raise ModelError(f"{url} names no host")
    if PurePosixPath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ModelError(f"{url} does not end in a model file name ({', '.join(SUPPORTED_SUFFIXES)})")
    return name


def _checksum(value: str, flag: str, url: str) -> str:
    value = value.strip().lower()
    if not value:
        raise ModelError(f"{flag} is required with {url}: the sha256 the control plane shows for that file")
    if not SHA256_HEX.fullmatch(value):
        raise ModelError(f"{flag} must be 64 hex digits, not {value!r}")
    return value


def _fetch(url: str, sha256: str, target: Path, token: str) -> None:
    if target.is_file() and sha256_of(target) == sha256:
        log.info("using the cached download of %s (%s)", url, target)
        return
    log.info("downloading %s to %s", url, target)
    staging = target.parent.parent  # the downloads folder: a failed try leaves no <sha256> folder behind
    staging.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    staged = _download(url, sha256, staging, token)
    target.parent.mkdir(exist_ok=True)
    os.replace(staged, target)  # atomic: other workers on this host see the whole file or none
    log.info("downloaded %s (%d bytes, sha256 verified) in %.1f s", target.name, target.stat().st_size,
             time.monotonic() - started)


def _download(url: str, sha256: str, staging: Path, token: str) -> Path:
    """Retry what may pass (connection errors, HTTP 5xx); a refusal or a wrong checksum is final."""
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    backoff = Backoff(f"model download {url}", log, base=BACKOFF_BASE)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _download_once(request, sha256, staging)
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                raise ModelError(_refusal(url, exc)) from None
            failure: Exception = exc
        except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
            failure = exc
        if attempt < ATTEMPTS:
            time.sleep(backoff.note(failure))
    raise ModelError(f"cannot download {url} after {ATTEMPTS} tries: {_reason(failure)}")


def _download_once(request: urllib.request.Request, sha256: str, staging: Path) -> Path:
    """Stream into a temporary file while hashing; keep it only when it is whole and its checksum matches."""
    fd, name = tempfile.mkstemp(dir=staging, prefix=".tmp-")
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, _OPENER.open(request, timeout=TIMEOUT) as response:
            digest = hashlib.sha256()
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            if response.length:  # the connection ended before Content-Length bytes came
                raise http.client.IncompleteRead(b"", response.length)
        if digest.hexdigest() != sha256:
            raise ModelError(f"checksum mismatch for {request.full_url}: expected {sha256}, got {digest.hexdigest()}")
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def _refusal(url: str, exc: urllib.error.HTTPError) -> str:
    if exc.code in (401, 403):
        return (
            f"the control plane refused the model download (HTTP {exc.code}): set {TOKEN_ENV} to a worker token "
            "(manage.py worker_token prints it)"
        )
    return f"cannot download {url} (HTTP {exc.code}){_api_message(exc)}"


def _api_message(exc: urllib.error.HTTPError) -> str:
    """The control plane's own explanation, from its error body, when there is one."""
    try:
        return ": " + json.loads(exc.read(1 << 16))["error"]["message"]
    except (ValueError, KeyError, TypeError, OSError):
        return ""


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    return str(getattr(exc, "reason", exc)) or type(exc).__name__
