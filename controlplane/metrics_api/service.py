"""The metrics API's request handling, free of any web framework: a request in, a status and a JSON body
out. Authentication first (401), then authorisation (403), then the answer; every failure is a Kubernetes
``Status``, never a 500.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from cryptography import x509

from controlplane.metrics_api import paths, payloads
from controlplane.metrics_api.access import AccessReviews
from controlplane.metrics_api.frontproxy import (
    CONFIG_MAP,
    FrontProxy,
    Identity,
    Unauthenticated,
    authenticate,
)
from controlplane.orchestration.backends.base import BackendError
from controlplane.orchestration.backends.kubernetes_client import ClusterReader, Refused
from inference_worker import protocol
from inference_worker.fleet import live_workers
from inference_worker.runtime import REDIS_ERRORS

log = logging.getLogger(__name__)

FRONT_PROXY_TTL = 60.0  # seconds between reads of the front-proxy settings: the CA can rotate
QUEUE_TERM = re.compile(r"^\s*queue\s*==?\s*([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\s*$")


@dataclass(frozen=True)
class Incoming:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, list[str]]  # lower-cased names
    peer_chain: list[x509.Certificate]  # the client's certificate first; empty when it sent none


@dataclass(frozen=True)
class Answer:
    code: int
    body: dict


def _failure(code: int, reason: str, message: str) -> Answer:
    return Answer(code, payloads.status(code, reason, message))


class _Failure(Exception):
    def __init__(self, answer: Answer):
        self.answer = answer


class FrontProxySettings:
    """The cluster's front-proxy settings, re-read every minute; a failed read keeps the last good ones."""

    def __init__(self, reader: ClusterReader, clock: Callable[[], float] = time.monotonic):
        self._reader = reader
        self._clock = clock
        self._settings: FrontProxy | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> FrontProxy:
        with self._lock:
            if self._clock() - self._read_at >= FRONT_PROXY_TTL or self._settings is None:
                try:
                    self._settings = FrontProxy.from_config_map(self._reader.config_map(*CONFIG_MAP))
                    self._read_at = self._clock()
                except (BackendError, ValueError) as exc:
                    if self._settings is None:
                        raise _Failure(_failure(503, "ServiceUnavailable", f"cannot authenticate callers: {exc}")) from None
                    log.warning("keeping the front-proxy settings read before: %s", exc)
            return self._settings


class MetricsApi:
    """Serves the worker heartbeats of ``namespace`` (the control plane's) as Pods metrics, and the queues'
    backlogs as an external metric."""

    def __init__(self, *, reader: ClusterReader, redis_client: redis.Redis, namespace: str,
                 clock: Callable[[], float] = time.time):
        self.reader = reader
        self.redis = redis_client
        self.namespace = namespace
        self.clock = clock
        self.front_proxy = FrontProxySettings(reader)
        self.access = AccessReviews(reader.review_access)

    def handle(self, request: Incoming) -> Answer:
        try:
            identity = self._authenticate(request)
            if request.path in paths.OPENAPI_PATHS:
                return _failure(404, "NotFound", "this server publishes no OpenAPI document")
            query = paths.parse(request.path)
            self._authorize(identity, query, request.path)
            if request.method != "GET":
                return _failure(405, "MethodNotAllowed", f"the metrics API is read-only: {request.method} is not allowed")
            return self._answer(query, request)
        except _Failure as failure:
            return failure.answer
        except Refused as exc:  # e.g. the API server's 400 for a malformed label selector, as it came
            reason = exc.reason or ("BadRequest" if exc.status == 400 else "InternalError")
            return _failure(exc.status if 400 <= exc.status < 500 else 503, reason, str(exc))
        except BackendError as exc:
            return _failure(503, "ServiceUnavailable", str(exc))
        except REDIS_ERRORS as exc:
            return _failure(503, "ServiceUnavailable", f"the worker heartbeats are unavailable: Redis: {exc}")

    def _authenticate(self, request: Incoming) -> Identity:
        try:
            return authenticate(self.front_proxy.current(), request.peer_chain, request.headers)
        except Unauthenticated as exc:
            log.info("401 %s %s: %s", request.method, request.path, exc)
            raise _Failure(_failure(401, "Unauthorized", str(exc))) from None

    def _authorize(self, identity: Identity, query: paths.Query | None, path: str) -> None:
        resource = paths.access_attributes(query) if query else None
        allowed, why = self.access.allowed(identity, resource=resource, path=path)
        if allowed:
            return
        if resource:
            what = f'{resource["verb"]} resource "{resource["resource"]}' + (
                f'/{resource["subresource"]}"' if resource.get("subresource") else '"')
            target = f'{what} in API group "{resource["group"]}" in the namespace "{resource["namespace"]}"'
        else:
            target = f'get path "{path}"'
        message = f'user "{identity.user}" cannot {target}' + (f": {why}" if why else "")
        log.info("403 %s", message)
        raise _Failure(_failure(403, "Forbidden", message))

    def _answer(self, query: paths.Query | None, request: Incoming) -> Answer:
        if query is None or isinstance(query, paths.Unserved):
            what = query.what if query else f"the path {request.path}"
            return _failure(404, "NotFound", f"the server could not find {what}")
        if isinstance(query, paths.Discovery):
            return Answer(200, payloads.resource_list(query.group, query.version))
        selector = (request.query.get("labelSelector") or [""])[0]
        if query.namespace != self.namespace:
            return _failure(404, "NotFound", f'no elastic-inference workers run in the namespace "{query.namespace}" '
                                             f'(this control plane serves "{self.namespace}")')
        if isinstance(query, paths.ExternalMetric):
            return self._backlog(query, selector)
        return self._pod_metric(query, selector)

    def _pod_metric(self, query: paths.PodMetric, selector: str) -> Answer:
        if query.metric not in payloads.POD_METRICS:
            return _failure(404, "NotFound", f'the server could not find the metric "{query.metric}" for pods; '
                                             f'served: {", ".join(payloads.POD_METRICS)}')
        pods = set(self.reader.pod_names(query.namespace, selector)) if query.pod == "*" else {query.pod}
        beats = [beat for beat in live_workers(self.redis)
                 if beat["namespace"] == query.namespace and beat["worker"] in pods]
        if query.pod != "*" and not beats:
            return _failure(404, "NotFound", f'the server could not find the metric "{query.metric}" for pods '
                                             f'"{query.pod}": it has no live heartbeat')
        return Answer(200, payloads.pod_metric_list(query.version, query.namespace, query.metric, beats))

    def _backlog(self, query: paths.ExternalMetric, selector: str) -> Answer:
        if query.metric != payloads.QUEUE_BACKLOG:
            return _failure(404, "NotFound", f'the server could not find the external metric "{query.metric}"; '
                                             f"served: {payloads.QUEUE_BACKLOG}")
        if selector:
            match = QUEUE_TERM.match(selector)
            if not match:
                return _failure(400, "BadRequest", f"unsupported labelSelector {selector!r}: "
                                                   f"{payloads.QUEUE_BACKLOG} is selected by queue=<name>")
            queues = [match.group(1)]
        else:  # every queue a worker of this namespace serves
            queues = sorted({beat["queue"] for beat in live_workers(self.redis) if beat["namespace"] == query.namespace})
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(protocol.frames_key(queue))
        return Answer(200, payloads.backlog_list(dict(zip(queues, pipe.execute())), self.clock()))
