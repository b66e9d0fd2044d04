"""Events and counts made straight in the database, as the analyzer writes them, with real JPEG snapshots
in a media folder of the test's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    from tests.support import jpeg_of, sample_image

    return jpeg_of(sample_image("astronaut")[:96, :128])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def make_event(db, media, jpeg):
    """make_event(stream, label, start_seconds, seconds=..., score=..., snapshot=True) -> Event, start
    counted from ``T0``."""
    from django.core.files.base import ContentFile

    from controlplane.analytics.models import Event

    tracks = count(1)

    def make(stream="street", label="person", start=0.0, *, seconds=5.0, score=0.8, snapshot=True, queue="people"):
        track = next(tracks)
        first = T0 + timedelta(seconds=start)
        return Event.objects.create(
            stream=stream, queue=queue, label=label, track=track, first_seen=first,
            last_seen=first + timedelta(seconds=seconds), first_seq=track * 10, last_seq=track * 10 + 4, frames=5,
            best_score=score, best_box=[0.1, 0.2, 0.3, 0.5], path=[[0.0, 0.2, 0.35], [seconds, 0.25, 0.4]],
            snapshot=ContentFile(jpeg, name=f"{track}.jpg") if snapshot else "",
        )

    return make
