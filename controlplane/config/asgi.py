"""ASGI entry point: HTTP goes to Django, websockets to the realtime app."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.config.settings")
django_http = get_asgi_application()  # sets Django up before the websocket routes import models

from channels.routing import ProtocolTypeRouter  # noqa: E402

from controlplane.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_http, "websocket": websocket_application})
