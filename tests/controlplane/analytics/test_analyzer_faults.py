"""The analytics stage through faults: a killed analyzer's stream is taken over and resumed where it was,
the database going away holds up neither the tracking nor any event (none lost, none twice), and Redis
going away (and coming back empty) is waited out."""

from __future__ import annotations

import os
import sys
from collections import Counter

import pytest
from django.db import connection

from controlplane.analytics.leases import Leases
from controlplane.analytics.models import Checkpoint, Event, EventCount
from harness.processes import Proc, free_port, wait_until
from harness.redis_server import start_redis_server
from inference_worker import protocol
from inference_worker.runtime import redis_client
from tests.controlplane.analytics.results import analyzer_running, publish, tracks_published
from tests.support import database_url

T0 = 1_795_000_000.0


def walk(r, stream: str, seqs, *, row: float = 0.3) -> None:
    """One person walking left to right, a result per frame at 10 per second."""
    for seq in seqs:
        x = 0.02 + 0.01 * seq
        publish(r, stream, seq, T0 + seq / 10, [{"label": "person", "score": 0.9, "box": [x, row, x + 0.1, row + 0.3]}],
                b"\xff\xd8jpeg", queue="people")


def handled_up_to(r, stream: str, seq: int) -> bool:
    """Whether the stream's checkpoint is past the result numbered ``seq``."""
    entry_id = next(i for i, f in r.xrange(protocol.results_key(stream)) if f"\"seq\": {seq}," in f[b"meta"].decode())
    checkpoint = Checkpoint.objects.filter(stream=stream).first()
    return checkpoint is not None and checkpoint.cursor >= entry_id.decode()


@pytest.mark.django_db(transaction=True)
def test_a_killed_analyzers_stream_is_taken_over_and_resumed_after_the_last_result_it_handled(r, redis_url, tmp_path, media):
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url(), "EI_MEDIA_ROOT": str(media)}
    first = Proc([sys.executable, "manage.py", "analyze", "--lease-ttl", "1", "--window", "0.2"], tmp_path / "first.log",
                 env, name="analyzer")
    try:
        walk(r, "gate", range(20))
        wait_until(lambda: handled_up_to(r, "gate", 19), 30, "the first analyzer to handle the first 20 results")
    finally:
        first.kill()  # SIGKILL: no chance to end its tracks or let its lease go
    assert Leases(r, "", 1).owner_of("gate") is not None, "the dead analyzer's lease outlives it, for a moment"

    with analyzer_running(r, lease_ttl=1.0, window=0.2) as second:
        walk(r, "gate", range(20, 40))
        wait_until(lambda: handled_up_to(r, "gate", 39), 30, "the second analyzer to take the stream over")
        assert Leases(r, "", 1).owner_of("gate") == second.id
    published = Counter(m["seq"] for m in tracks_published(r, "gate"))
    assert published == Counter(range(40)), "every result tracked once: none skipped at the handover, none again"
    numbers = {m["seq"]: m["tracks"] for m in tracks_published(r, "gate")}
    assert {tuple(numbers[s]) for s in range(20)} == {(1,)} and {tuple(numbers[s]) for s in range(20, 40)} == {(2,)}
    # the track open when the first analyzer died is lost with it (its numbers are never used again); the
    # second's track ended when it stopped
    assert list(Event.objects.values_list("track", "first_seq", "last_seq", "frames")) == [(2, 20, 39, 20)]


@pytest.fixture
def database_away():
    """Makes every new connection of this database fail as if its server were gone, until called again."""
    db = connection.settings_dict
    saved = {key: db[key] for key in ("NAME", "PORT")}

    def away(gone: bool) -> None:
        if not gone:
            db.update(saved)
        elif db["ENGINE"] == "django.db.backends.sqlite3":
            db["NAME"] = "/nonexistent/analytics-test.sqlite3"
        else:
            db["PORT"] = str(free_port())

    yield away
    db.update(saved)


@pytest.mark.django_db(transaction=True)
def test_the_database_away_holds_up_no_tracking_and_loses_no_event(r, media, database_away):
    with analyzer_running(r, window=0.2, lifespan=1.0) as analyzer:
        for seq in range(5):  # nobody in sight yet
            publish(r, "gate", seq, T0 + seq / 10, [], b"\xff\xd8jpeg", queue="people")
        wait_until(lambda: handled_up_to(r, "gate", 4), 30, "the analyzer to take the stream")
        database_away(True)
        walk(r, "gate", range(5, 20))  # this person leaves after seq 19 ...
        walk(r, "gate", range(28, 40), row=0.6)  # ... and another comes and goes
        wait_until(lambda: len(tracks_published(r, "gate")) == 32, 30, "every result tracked while the database is away")
        wait_until(lambda: analyzer.writer.retrying, 30, "the writer to meet the outage")
        assert Event.objects.count() == 0
        database_away(False)
        wait_until(lambda: Event.objects.count() == 2, 60, "the events once the database is back")
    assert sorted(Event.objects.values_list("track", "first_seq", "last_seq", "frames")) == [(1, 5, 19, 15), (2, 28, 39, 12)]
    assert sum(EventCount.objects.filter(bucket="day").values_list("count", flat=True)) == 2, "each counted once"


@pytest.mark.django_db(transaction=True)
def test_redis_away_is_waited_out_and_the_stream_analysed_again_when_it_is_back(tmp_path, media):
    port = free_port()
    server = start_redis_server(port, tmp_path)
    client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=2)
    try:
        with analyzer_running(client, window=0.2, lifespan=1.0, lease_ttl=1.0) as analyzer:
            walk(client, "gate", range(15))
            wait_until(lambda: Event.objects.count() == 1, 30, "the first person's event (the stream went quiet)")
            server.terminate()
            wait_until(lambda: analyzer.redis_away, 30, "the analyzer to meet the outage")
            server = start_redis_server(port, tmp_path)  # back, and empty: it keeps nothing on disk
            walk(client, "gate", range(100, 120), row=0.6)
            wait_until(lambda: Event.objects.count() == 2, 30, "the second person's event, after the outage")
    finally:
        server.terminate()
    assert list(Event.objects.order_by("track").values_list("track", "first_seq", "last_seq")) == [(1, 0, 14), (2, 100, 119)]


@pytest.mark.django_db(transaction=True)
def test_a_stream_waits_for_its_checkpoint_while_the_database_is_away(r, media, database_away):
    database_away(True)
    with analyzer_running(r, window=0.2, lifespan=0.5, lease_ttl=1.0) as analyzer:
        walk(r, "gate", range(10))
        wait_until(lambda: analyzer.database_away, 30, "the analyzer to miss the checkpoint")
        assert tracks_published(r, "gate") == [] and "gate" not in analyzer.owned, "not analysed without its checkpoint"
        database_away(False)
        wait_until(lambda: Event.objects.count() == 1, 30, "the event once the database is back")
    assert list(Event.objects.values_list("first_seq", "last_seq")) == [(0, 9)]


@pytest.mark.django_db(transaction=True)
def test_analyzers_started_together_split_the_streams_and_one_takes_them_all_when_the_other_stops(r, media):
    streams = ["a", "b", "c", "d"]
    for stream in streams:
        walk(r, stream, range(10))
    with analyzer_running(r, window=0.2, lease_ttl=2.0) as first:
        with analyzer_running(r, window=0.2, lease_ttl=2.0) as second:
            wait_until(lambda: all(handled_up_to(r, s, 9) for s in streams), 30, "every stream analysed")
            assert len(first.owned) == len(second.owned) == 2 and not first.owned.keys() & second.owned.keys()
        for stream in streams:
            walk(r, stream, range(10, 20))
        wait_until(lambda: all(handled_up_to(r, s, 19) for s in streams), 30, "the first analyzer to take them all")
        assert sorted(first.owned) == streams
    for stream in streams:  # each result tracked once, by one analyzer or the other
        assert Counter(m["seq"] for m in tracks_published(r, stream)) == Counter(range(20)), stream
