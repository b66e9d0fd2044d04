"""Who is at the other end of a websocket: a DRF token in ``?token=``, a Django session cookie, or nobody.

A browser sends its cookies to any site's websocket, so a cookie session is trusted only when the
``Origin`` is one of ``ALLOWED_HOSTS`` (what Channels' ``AllowedHostsOriginValidator`` checks).
Scripts that use a token send no ``Origin``; the check would only lock them out, so they skip it.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import parse_qs, urlparse

from channels.auth import get_user
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from rest_framework.authtoken.models import Token

from controlplane.core.permissions import adownloads_only

NOT_AUTHENTICATED = 4401
FORBIDDEN = 4403

TOKEN, SESSION, ANONYMOUS, INVALID_TOKEN = "token", "session", "anonymous", "invalid-token"
DOWNLOADS_ONLY = "downloads-only-token"  # valid, but its user may only download model files (workers')


def query_param(scope: dict, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1"), keep_blank_values=True).get(name)
    return values[-1] if values else None


def _header(scope: dict, name: bytes) -> str | None:
    values = [value.decode("latin1") for key, value in scope.get("headers", []) if key == name]
    return "; ".join(values) if values else None


async def _token_user(key: str):
    token = await Token.objects.select_related("user").filter(key=key).afirst()
    return token.user if token and token.user.is_active else None


async def _session_user(session_key: str):
    return await get_user({"session": import_module(settings.SESSION_ENGINE).SessionStore(session_key)})


async def authenticate(scope: dict) -> tuple[object, str]:
    """The user and how they proved it; a token, when given, wins over a cookie."""
    key = query_param(scope, "token")
    if key is not None:
        user = await _token_user(key) if key else None
        if user is None:
            return AnonymousUser(), INVALID_TOKEN
        return user, DOWNLOADS_ONLY if await adownloads_only(user) else TOKEN
    session_key = parse_cookie(_header(scope, b"cookie") or "").get(settings.SESSION_COOKIE_NAME)
    if session_key:
        user = await _session_user(session_key)
        if user.is_authenticated:
            return user, SESSION
    return AnonymousUser(), ANONYMOUS


def _origin_allowed(scope: dict) -> bool:
    origin = _header(scope, b"origin")
    return AllowedHostsOriginValidator(None).valid_origin(urlparse(origin) if origin else None)


def refusal(scope: dict) -> int | None:
    """The close code for a client that may not watch streams, or None when it may."""
    how = scope["auth"]
    if (how == SESSION and not _origin_allowed(scope)) or (how == DOWNLOADS_ONLY and not settings.EI_ANONYMOUS_READ):
        return FORBIDDEN
    if how == INVALID_TOKEN or not (scope["user"].is_authenticated or settings.EI_ANONYMOUS_READ):
        return NOT_AUTHENTICATED
    return None


class WebsocketAuthMiddleware(BaseMiddleware):
    """Puts ``user`` and ``auth`` (TOKEN, DOWNLOADS_ONLY, SESSION, ANONYMOUS or INVALID_TOKEN) in the scope."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope)
        scope["user"], scope["auth"] = await authenticate(scope)
        return await self.inner(scope, receive, send)
