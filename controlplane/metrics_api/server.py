"""The metrics API over HTTPS, on Twisted.

Twisted with pyOpenSSL, not the standard library's ssl: the handshake must ask for a client certificate
yet accept any, so that a wrong or missing one gets a 401 ``Status`` from the request handler (as the API
server's own authenticator answers) instead of a handshake failure that says nothing. Requests run on a
thread pool: they wait on Redis and on the API server.
"""

from __future__ import annotations

import json
import logging

from OpenSSL import SSL
from twisted.internet import reactor, threads
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.web import resource, server
from zope.interface import implementer

from controlplane.metrics_api import payloads
from controlplane.metrics_api.service import Incoming, MetricsApi

log = logging.getLogger(__name__)

HEALTH_PATHS = {"/healthz", "/livez", "/readyz"}  # unauthenticated, for the kubelet's probes


@implementer(IOpenSSLServerConnectionCreator)
class TLSContext:
    """The serving certificate; client certificates requested, judged later by the request handler."""

    def __init__(self, cert_file: str, key_file: str):
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.use_certificate_chain_file(cert_file)
        context.use_privatekey_file(key_file)
        context.check_privatekey()
        context.set_verify(SSL.VERIFY_PEER, lambda connection, cert, errno, depth, ok: True)
        context.set_session_id(b"elastic-inference-metrics-api")  # resumed sessions keep their client cert
        self._context = context

    def serverConnectionForTLS(self, protocol) -> SSL.Connection:  # noqa: N802 (Twisted's name)
        return SSL.Connection(self._context, None)


class MetricsResource(resource.Resource):
    isLeaf = True

    def __init__(self, api: MetricsApi):
        super().__init__()
        self.api = api

    def render(self, request):
        path = request.path.decode("utf-8", "replace")
        if path in HEALTH_PATHS:
            request.setHeader(b"content-type", b"text/plain")
            return b"ok"
        incoming = Incoming(
            method=request.method.decode("ascii", "replace"), path=path,
            query={key.decode(): [value.decode("utf-8", "replace") for value in values]
                   for key, values in request.args.items()},
            headers={name.decode().lower(): [value.decode("utf-8", "replace") for value in values]
                     for name, values in request.requestHeaders.getAllRawHeaders()},
            peer_chain=_peer_chain(request.transport.getHandle()))
        answered = threads.deferToThread(self.api.handle, incoming)
        answered.addCallback(lambda answer: _write(request, answer.code, answer.body))
        answered.addErrback(lambda failure: _crashed(request, failure))
        return server.NOT_DONE_YET


def _peer_chain(connection: SSL.Connection) -> list:
    """The client's certificate first, then the ones it sent along (a server's peer chain omits the leaf)."""
    leaf = connection.get_peer_certificate(as_cryptography=True)
    if leaf is None:
        return []
    return [leaf, *(cert for cert in connection.get_peer_cert_chain(as_cryptography=True) or [] if cert != leaf)]


def _write(request, code: int, body: dict) -> None:
    if request.finished or request._disconnected:  # the caller gave up (a timeout): nothing to answer
        return
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    request.write(json.dumps(body, separators=(",", ":")).encode())
    request.finish()


def _crashed(request, failure) -> None:
    """A bug, not a refusal: logged with its traceback, answered as a Status all the same."""
    log.error("metrics API request %s failed: %s", request.path, failure.getTraceback())
    _write(request, 500, payloads.status(500, "InternalError", "internal error"))


def serve(api: MetricsApi, *, bind: str, port: int, cert_file: str, key_file: str, threads_count: int = 8) -> None:
    """Serve until SIGTERM or SIGINT."""
    reactor.suggestThreadPoolSize(threads_count)
    site = server.Site(MetricsResource(api))
    site.displayTracebacks = False
    reactor.listenSSL(port, site, TLSContext(cert_file, key_file), interface=bind)
    log.info("metrics API on https://%s:%d", bind, port)
    reactor.run()
