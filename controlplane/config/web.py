"""``python -m controlplane.config.web [--host H] [--port P]``: the control plane's web server (the API, the
admin, the dashboard, /metrics and the websockets), one configuration for the demo, the tests and the image.

uvicorn with the websockets library's sans-I/O protocol: a websocket send writes straight to the socket
and waits while the client's socket is full, so a slow client's consumer drops its oldest results instead
of the server buffering them. Daphne (Twisted, autobahn) cost about twice the CPU per delivered message
(``bench/relay_fanout.py``). No access log, and warnings only: uvicorn logs each websocket's URL, whose
``?token=`` is a credential.
"""

from __future__ import annotations

import argparse
import signal
import sys

import uvicorn

ASGI_APP = "controlplane.config.asgi:application"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # uvicorn shuts down gracefully on SIGTERM or SIGINT, then raises the signal again for the handler that
    # was in place before it: after a graceful shutdown, that is a clean exit.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    uvicorn.run(
        ASGI_APP, host=args.host, port=args.port, ws="websockets-sansio", lifespan="off", access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
