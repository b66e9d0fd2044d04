"""Websocket routes: ``/ws/streams/<name>/``, and the original demo's ``/<name>``."""

from channels.routing import URLRouter
from django.urls import path

from controlplane.realtime.auth import WebsocketAuthMiddleware
from controlplane.realtime.consumers import StreamConsumer

stream_consumer = StreamConsumer.as_asgi()

websocket_application = WebsocketAuthMiddleware(
    URLRouter([
        path("ws/streams/<str:stream>/", stream_consumer),
        path("<str:stream>", stream_consumer),
    ])
)
