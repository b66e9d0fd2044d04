"""Streams, credentials and in-process websocket clients for the realtime tests.

Django is set up after this module is imported when pytest is pointed at this folder, so models are
imported inside the fixtures.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support import jpeg_of, sample_image


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    return jpeg_of(sample_image("chelsea"))


@pytest.fixture
def streams(db) -> list[str]:
    """Two known streams; the second is disabled, which does not make it unknown."""
    from controlplane.streams.models import Stream

    Stream.objects.create(name="street", source_kind="external", queue="people")
    Stream.objects.create(name="door", source_kind="external", queue="face", enabled=False)
    return ["street", "door"]


@pytest.fixture
def token(viewer) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=viewer).key


@pytest.fixture
def session_cookie(viewer, settings) -> bytes:
    from django.test import Client

    client = Client()
    client.force_login(viewer)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


@pytest.fixture
async def ws():
    """Opens websockets to the project's ASGI application in this process; closes them afterwards."""
    from channels.testing import WebsocketCommunicator

    from controlplane.config.asgi import application

    opened = []

    async def open_(path: str, headers=()) -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(application, path, headers=list(headers))
        connected, _ = await communicator.connect(timeout=10)
        assert connected, "the handshake is accepted; refusals come as close codes"
        opened.append(communicator)
        return communicator

    yield open_
    for communicator in opened:
        try:
            await communicator.disconnect(timeout=0.2)
        except asyncio.CancelledError:  # the test already timed out on this one: report that, not this
            pass
