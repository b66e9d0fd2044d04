"""Websocket routes (filled in by the realtime work)."""

from channels.routing import URLRouter

websocket_application = URLRouter([])
