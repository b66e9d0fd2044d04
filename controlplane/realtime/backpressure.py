"""Waiting until a client's socket takes more data, so a slow client's backlog stays in our small buffer.

daphne's ``send`` returns at once: what the socket cannot take yet waits in Twisted's write buffer,
which has no bound, so a client that reads slower than results arrive would grow the server's
memory without end and get ever staler pictures. Twisted pauses a streaming producer registered on
a transport when more than 64 KB wait there and resumes it when all is written; :class:`SocketDrain`
is such a producer. Under servers whose ``send`` waits for the socket itself there is nothing to do.
"""

from __future__ import annotations

import asyncio
import functools
import logging

log = logging.getLogger("ei.realtime")


class SocketDrain:
    def __init__(self) -> None:
        self._ready = asyncio.Event()
        self._ready.set()

    @classmethod
    def for_send(cls, send) -> SocketDrain:
        """A drain on the connection behind an ASGI ``send``; one that never waits when that is not daphne's."""
        drain = cls()
        transport = _daphne_transport(send)
        if transport is not None:
            try:
                if getattr(transport, "producer", None) is not None:
                    transport.unregisterProducer()  # the HTTP channel that upgraded the socket; it has no more to send
                transport.registerProducer(drain, True)
            except RuntimeError as exc:  # a transport that will not take a producer: no flow control
                log.warning("websocket without flow control: %s", exc)
        return drain

    async def wait(self) -> None:
        await self._ready.wait()

    # Twisted's IPushProducer, called on the event loop's thread (daphne runs Twisted on asyncio).
    def pauseProducing(self) -> None:  # noqa: N802
        self._ready.clear()

    def resumeProducing(self) -> None:  # noqa: N802
        self._ready.set()

    def stopProducing(self) -> None:  # noqa: N802
        self._ready.set()


def _daphne_transport(send):
    """daphne hands the application ``partial(server.handle_reply, protocol)``; the protocol owns the socket."""
    if not (isinstance(send, functools.partial) and send.args):
        return None
    from daphne.ws_protocol import WebSocketProtocol  # only when it can be daphne: it imports Twisted

    protocol = send.args[0]
    return protocol.transport if isinstance(protocol, WebSocketProtocol) else None
