"""The analytics stage at scale, against PostgreSQL: what it costs to track results into events, how long
an event takes to show in the database, and how fast the history API answers over a month of events.

In one run, on a database of its own (``ei_bench_analytics`` on the local PostgreSQL, created, migrated
and dropped) and a private Redis:

load:     N streams (``--streams``) x R results/s (``--rate``) x K objects (``--objects``) for S seconds,
          XADDed to ``ei:results:<stream>`` in the worker's format (``meta`` JSON and a real 640x480 JPEG,
          ``MAXLEN ~ --maxlen`` as the worker's ``--result-maxlen``). Objects move along straight paths
          across the frame, each seen for 3-6 s, a new one entering when one leaves; scores 0.7-0.95.
          ``ts_capture`` = ``ts_done`` = the time of the XADD.
baseline: a process that XREADs the same streams at the same time as the analyzer (200 entries per
          stream per read, as the analyzer does) and parses each entry as the analyzer does
          (``analytics.results.parse``), then drops it: no tracking, no track numbers, no writes;
analyzer: ``Analyzer`` with the default ``Settings`` run in its own process (``multiprocessing`` spawn), so
          its CPU (loop and writer thread) is the process's, read from /proc over the same interval as
          the baseline's: from the load's start until both caught up and the last track's event is
          written. Results analysed are the entries it added to ``ei:tracks:<stream>``.
delay:    the bench polls the Event table every 20 ms; for each new row, the time it was first seen
          minus its ``last_seen`` (the capture time of its last sighting). A track ends only once it is
          unseen for the tracker's lifespan (2 s by default), so the lifespan is part of the delay; the
          delay minus the lifespan (what the flush, once a second, and the write add) is printed too.
          Printed apart: the tracks still open when the load stops, which end once the stream has been
          quiet for the lifespan (from its last result, not their last sighting), so they wait longer.
history:  ``--history-events`` Event rows (1,000,000) inserted by one ``INSERT ... SELECT generate_series``
          over the last 30 days, the N streams and the labels person, car, face, with their minute, hour
          and day counts (each event in the buckets of its first sighting; they last under 11 s), then
          ANALYZE; then 200 ``GET /api/events/?stream=<s>&since=<iso>`` (random stream, since uniform over
          the 30 days) through Django's test client as a logged-in user (session and permission checks
          included), and as many ``GET /api/streams/<s>/counts/?bucket=hour&since=<iso>`` when that route
          exists, after 5 unmeasured requests of each: p50/p99 ms. The SQL takes about a millisecond; the
          rest is Django and DRF in this process, whose full garbage collections (counted) make the tail.

Both readers are bounded by the offered load, so their results/s agree when the analyzer keeps up (its
backlog at the end of the load says whether it did); CPU per 1000 results, and its ratio, is the figure
that says what the analytics stage costs. The last line is
``analysed_per_s=<x> baseline_per_s=<y> ratio=<x/y> query_p99_ms=<z>`` (z: the events list's p99).

    .venv/bin/python bench/analytics.py --history-events 100000
    .venv/bin/python bench/analytics.py --streams 8 --rate 10 --objects 4 --seconds 20
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import psycopg
import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.processes import free_port, wait_until  # noqa: E402
from harness.redis_server import start_redis_server  # noqa: E402
from inference_worker import protocol  # noqa: E402
from tests.support import jpeg_of, sample_image  # noqa: E402

DATABASE = "ei_bench_analytics"
WIDTH, HEIGHT = 640, 480
BATCH = 200  # entries per stream per XREAD, as the analyzer reads
POLL = 0.02  # seconds between the bench's looks at the Event table
QUERIES, WARMUP_QUERIES = 200, 5
HISTORY_DAYS = 30
HISTORY_TRACKS = 10**9  # track numbers of inserted history rows start here, far from the live run's
HISTORY_PATH = "[" + ",".join(f"[{i * 0.5:.1f},{0.1 + i * 0.06:.2f},0.5]" for i in range(12)) + "]"


# --- the load ------------------------------------------------------------------------------------

@dataclass
class Walker:
    x: float  # box centre at ``born``, 0..1 of the frame
    y: float
    vx: float  # of the frame per second
    vy: float
    w: float
    h: float
    born: float
    ends: float


class Scene:
    """One stream's objects: ``objects`` of them in view at any time, each on a straight path for 3-6 s."""

    def __init__(self, rng: random.Random, objects: int, now: float):
        self.rng = rng
        self.entered = 0
        self.walkers = [self._enter(now, into_life=rng.uniform(0.0, 0.8)) for _ in range(objects)]

    def _enter(self, now: float, into_life: float = 0.0) -> Walker:
        rng, life = self.rng, self.rng.uniform(3.0, 6.0)
        direction = rng.choice((-1, 1))
        w = rng.uniform(0.05, 0.12)
        born = now - into_life * life
        self.entered += 1
        return Walker(x=rng.uniform(0.1, 0.3) if direction > 0 else rng.uniform(0.7, 0.9), y=rng.uniform(0.25, 0.75),
                      vx=direction * rng.uniform(0.3, 0.6) / life, vy=rng.uniform(-0.03, 0.03),
                      w=w, h=w * rng.uniform(2.0, 3.0), born=born, ends=born + life)

    def detections(self, now: float) -> list[dict]:
        self.walkers = [w if now < w.ends else self._enter(now) for w in self.walkers]
        out = []
        for w in self.walkers:
            cx, cy = w.x + w.vx * (now - w.born), w.y + w.vy * (now - w.born)
            box = [min(1.0, max(0.0, v)) for v in (cx - w.w / 2, cy - w.h / 2, cx + w.w / 2, cy + w.h / 2)]
            out.append({"label": "person", "score": round(self.rng.uniform(0.7, 0.95), 3), "box": [round(v, 4) for v in box]})
        return out


def produce(client: redis.Redis, streams: list[str], args, jpeg: bytes) -> tuple[int, int]:
    """XADD one result per stream per tick for ``args.seconds``, on a fixed schedule; (results, objects)."""
    rng = random.Random(1)
    start = time.time()
    scenes = [Scene(rng, args.objects, start) for _ in streams]
    ticks, tick = 0, time.monotonic()
    while ticks < args.seconds * args.rate:
        pipe = client.pipeline(transaction=False)
        for stream, scene in zip(streams, scenes):
            now = time.time()
            meta = protocol.result_meta(frame=protocol.Frame(stream, ticks, now, WIDTH, HEIGHT, jpeg), queue="people",
                                        model="builtin:people", worker="bench-worker", ts_done=now,
                                        detections=scene.detections(now))
            pipe.xadd(protocol.results_key(stream), protocol.encode_result(meta, jpeg), maxlen=args.maxlen, approximate=True)
        pipe.execute()
        ticks += 1
        tick += 1 / args.rate
        time.sleep(max(0.0, tick - time.monotonic()))
    return ticks * len(streams), sum(s.entered for s in scenes)


# --- the two readers, each a process of its own --------------------------------------------------

def run_analyzer(url: str, ready, stop, report) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops it, in its own order
    import django

    django.setup()
    from controlplane.analytics.analyzer import Analyzer
    from inference_worker.runtime import StopFlag, redis_client

    analyzer = Analyzer(redis_client(url), analyzer_id="bench")
    flag = StopFlag()
    threading.Thread(target=lambda: (stop.wait(), flag.set()), daemon=True).start()
    ready.set()
    analyzer.run(flag)
    report.put({"analysed": analyzer.analysed, "written": analyzer.writer.written,
                "noise": sum(a.noise for a in analyzer.owned.values())})


def run_baseline(url: str, streams: list[str], ready, stop, parsed) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from controlplane.analytics.results import parse
    from inference_worker.runtime import redis_client

    client = redis_client(url)
    cursors = {protocol.results_key(s): "0-0" for s in streams}
    ready.set()
    while not stop.is_set():
        for key, entries in client.xread(cursors, count=BATCH, block=100) or ():
            for entry_id, fields in entries:
                parse(entry_id, fields)
            cursors[key.decode()] = entries[-1][0]
            parsed.value += len(entries)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tracks_added(client: redis.Redis, streams: list[str]) -> int:
    """Results the analyzer tracked: it adds one ``ei:tracks`` entry for each."""
    total = 0
    for stream in streams:
        try:
            total += client.xinfo_stream(protocol.tracks_key(stream))["entries-added"]
        except redis.ResponseError:  # not analysed yet
            pass
    return total


class EventWatch(threading.Thread):
    """Polls the Event table; for each new row, when it was first seen minus its last sighting."""

    def __init__(self):
        super().__init__(name="event watch", daemon=True)
        self.delays: list[tuple[float, float]] = []  # (seen - last_seen, last_seen)
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from controlplane.analytics.models import Event

        last = 0
        try:
            while not self.stop.wait(POLL):
                rows = list(Event.objects.filter(id__gt=last).order_by("id").values_list("id", "last_seen"))
                seen = time.time()
                for event_id, last_seen in rows:
                    self.delays.append((seen - last_seen.timestamp(), last_seen.timestamp()))
                    last = event_id
        finally:
            connection.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def live(args, url: str) -> tuple[float, float]:
    """The load through both readers; (analysed per second, baseline per second)."""
    from controlplane.analytics.analyzer import Settings

    defaults = Settings()
    client = redis.Redis.from_url(url)
    streams = [f"bench-{i}" for i in range(args.streams)]
    jpeg = jpeg_of(cv2.resize(sample_image("astronaut"), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA), quality=80)
    spawn = multiprocessing.get_context("spawn")
    stop, report, parsed = spawn.Event(), spawn.Queue(), spawn.RawValue("q", 0)
    ready = [spawn.Event(), spawn.Event()]
    analyzer = spawn.Process(target=run_analyzer, args=(url, ready[0], stop, report), name="analyzer")
    baseline = spawn.Process(target=run_baseline, args=(url, streams, ready[1], stop, parsed), name="baseline")
    watch = EventWatch()
    try:
        analyzer.start()
        baseline.start()
        wait_until(lambda: all(r.is_set() for r in ready) or not (analyzer.is_alive() and baseline.is_alive()), 120,
                   "the analyzer and the baseline reader")
        if not (analyzer.is_alive() and baseline.is_alive()):
            raise RuntimeError("the analyzer or the baseline reader exited before it was ready")
        watch.start()
        print(f"load: {args.streams} streams x {args.rate:g} results/s x {args.objects} objects for {args.seconds:g} s, "
              f"{len(jpeg) // 1024} KB JPEGs, maxlen ~{args.maxlen}", flush=True)
        cpu0 = {p.name: cpu_seconds(p.pid) for p in (analyzer, baseline)}
        t0 = time.monotonic()
        offered, objects = produce(client, streams, args, jpeg)
        load_s, load_end = time.monotonic() - t0, time.time()
        at_end = {"analysed": tracks_added(client, streams), "baseline": parsed.value, "events": len(watch.delays)}
        # Caught up, and every track ended (unseen for the lifespan) and flushed: the events stop coming.
        deadline = time.monotonic() + defaults.lifespan + 30
        quiet_for = defaults.lifespan + 2 * defaults.flush_every + 1
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(watch.delays) != count:
                count, since = len(watch.delays), time.monotonic()
            if tracks_added(client, streams) >= offered and parsed.value >= offered and time.monotonic() - since > quiet_for:
                break
            time.sleep(0.1)
        drained_s = time.monotonic() - t0
        cpu = {p.name: cpu_seconds(p.pid) - cpu0[p.name] for p in (analyzer, baseline)}
        analysed, base_parsed = tracks_added(client, streams), parsed.value
        stop.set()
        final = report.get(timeout=60)
        analyzer.join(30)
        baseline.join(30)
    finally:
        stop.set()
        watch.stop.set()
        for process in (analyzer, baseline):
            if process.is_alive():
                process.join(15)
            if process.is_alive():
                process.terminate()
                process.join(5)
    watch.join(10)

    analysed_per_s, baseline_per_s = at_end["analysed"] / load_s, at_end["baseline"] / load_s
    base_cpu_k = cpu["baseline"] / max(base_parsed, 1) * 1000
    ours_cpu_k = cpu["analyzer"] / max(analysed, 1) * 1000
    print(f"offered {offered} results ({offered / load_s:.1f}/s over {load_s:.1f} s), {objects} objects simulated; "
          f"measured until {drained_s:.1f} s (caught up and the last events written)")
    print(f"baseline: {baseline_per_s:.1f} results/s over the load, backlog at its end {offered - at_end['baseline']}, "
          f"{base_parsed} read in all; CPU {cpu['baseline']:.2f} s = {base_cpu_k:.3f} s per 1000 results")
    print(f"analyzer: {analysed_per_s:.1f} results/s over the load, backlog at its end {offered - at_end['analysed']}, "
          f"{analysed} analysed in all (its count {final['analysed']}); CPU {cpu['analyzer']:.2f} s = "
          f"{ours_cpu_k:.3f} s per 1000 results, {ours_cpu_k / base_cpu_k:.1f}x the baseline's")
    print(f"events: {final['written']} written ({final['noise']} tracks under min_frames dropped as noise), "
          f"{at_end['events']} during the load = {at_end['events'] / load_s:.2f}/s, "
          f"{final['written'] / drained_s:.2f}/s until the last; {final['written'] / max(objects, 1):.2f} per object simulated")
    # A track still open when the load stops ends once its stream has been quiet for the lifespan, counted
    # from the stream's last result rather than the track's last sighting: those are printed apart.
    flowing = [d for d, last_seen in watch.delays if last_seen + defaults.lifespan < load_end]
    quiet = [d for d, last_seen in watch.delays if last_seen + defaults.lifespan >= load_end]
    for name, delays in (("tracks that ended during the load", flowing), ("tracks open when it stopped", quiet)):
        print(f"result to event row, {name}: p50 {percentile(delays, 0.5):.3f} s, p99 {percentile(delays, 0.99):.3f} s "
              f"({len(delays)} events); minus the {defaults.lifespan:g} s lifespan: p50 "
              f"{percentile(delays, 0.5) - defaults.lifespan:.3f} s, p99 {percentile(delays, 0.99) - defaults.lifespan:.3f} s", flush=True)
    return analysed_per_s, baseline_per_s


# --- the history ---------------------------------------------------------------------------------

def insert_history(count: int, streams: int) -> None:
    from django.db import connection

    from controlplane.analytics.models import Event, EventCount

    events, counts = Event._meta.db_table, EventCount._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {events} (stream, queue, label, track, first_seen, last_seen, first_seq, last_seq, frames,
                                  best_score, best_box, path, snapshot)
            SELECT 'bench-' || mod(g, %s), 'people', (ARRAY['person', 'car', 'face'])[1 + mod(g, 3)], %s + g,
                   t, t + f * interval '100 milliseconds', g, g + f, f, 0.6 + random() * 0.39,
                   '[0.41, 0.22, 0.47, 0.58]'::jsonb, %s::jsonb, 'snapshots/history/' || g || '.jpg'
            FROM (SELECT g, now() - random() * interval '{HISTORY_DAYS} days' AS t, 3 + (random() * 100)::int AS f
                  FROM generate_series(1, %s) AS g) AS rows
        """, [streams, HISTORY_TRACKS, HISTORY_PATH, count])
        inserted = time.perf_counter()
        cursor.execute(f"""
            INSERT INTO {counts} (stream, label, bucket, start, count)
            SELECT stream, label, b.bucket, date_trunc(b.bucket, first_seen), count(*)
            FROM {events} CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS b(bucket)
            WHERE track >= %s GROUP BY 1, 2, 3, 4
            ON CONFLICT (stream, label, bucket, start) DO UPDATE SET count = {counts}.count + excluded.count
        """, [HISTORY_TRACKS])
        cursor.execute(f"ANALYZE {events}")
        cursor.execute(f"ANALYZE {counts}")
        cursor.execute(f"SELECT count(*) FROM {events}")
        total = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {counts}")
        buckets = cursor.fetchone()[0]
    print(f"history: {count} events inserted in {inserted - started:.1f} s, counts and ANALYZE "
          f"{time.perf_counter() - inserted:.1f} s; {total} events, {buckets} count buckets in the table", flush=True)


def routed(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
        return True
    except Resolver404:
        return False


def time_queries(client, name: str, requests: list[tuple[str, dict]]) -> float:
    """GET each; print p50/p99 ms of all but the first WARMUP_QUERIES; the p99."""
    took, rows = [], 0
    full_collections = gc.get_stats()[2]["collections"]
    for i, (path, params) in enumerate(requests):
        started = time.perf_counter()
        response = client.get(path, params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.content[:300]!r}")
        if i >= WARMUP_QUERIES:
            took.append(elapsed)
            body = response.json()
            rows += len(body["results"]) if isinstance(body, dict) and "results" in body else len(body)
    p99 = percentile(took, 0.99)
    print(f"{name}: {len(took)} requests, p50 {percentile(took, 0.5):.1f} ms, p99 {p99:.1f} ms, "
          f"max {max(took):.1f} ms, {rows / len(took):.1f} rows per response; "
          f"{gc.get_stats()[2]['collections'] - full_collections} full garbage collections in this process meanwhile", flush=True)
    return p99


def history(args) -> float:
    """The history API's answer times; the events list's p99 (nan when it is not routed)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    insert_history(args.history_events, args.streams)
    user = get_user_model().objects.create_user("bench-viewer", password="unused-bench-password")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    rng = random.Random(2)
    now = datetime.now(UTC)

    def since() -> str:
        return (now - timedelta(seconds=rng.uniform(0, HISTORY_DAYS * 86400))).isoformat()

    def stream() -> str:
        return f"bench-{rng.randrange(args.streams)}"

    p99 = float("nan")
    if routed("/api/events/"):
        p99 = time_queries(client, "GET /api/events/?stream&since",
                           [("/api/events/", {"stream": stream(), "since": since()}) for _ in range(WARMUP_QUERIES + QUERIES)])
    else:
        print("GET /api/events/: not routed (controlplane/config/urls.py); not measured")
    if routed("/api/streams/bench-0/counts/"):
        time_queries(client, "GET /api/streams/<s>/counts/?bucket=hour&since",
                     [(f"/api/streams/{stream()}/counts/", {"bucket": "hour", "since": since()})
                      for _ in range(WARMUP_QUERIES + QUERIES)])
    else:
        print("GET /api/streams/<s>/counts/: not routed; not measured")
    return p99


# --- the run ---------------------------------------------------------------------------------------

def admin_sql(server: str, sql: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--streams", type=int, default=8)
    p.add_argument("--rate", type=float, default=10.0, help="results per second per stream")
    p.add_argument("--objects", type=int, default=4, help="objects in view per stream at any time")
    p.add_argument("--seconds", type=float, default=20.0, help="length of the load")
    p.add_argument("--maxlen", type=int, default=100, help="MAXLEN ~ of the result streams (the worker's --result-maxlen)")
    p.add_argument("--history-events", type=int, default=1_000_000)
    p.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                   help=f"the PostgreSQL server; the bench creates and drops its own database {DATABASE} there")
    args = p.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ei-bench-analytics-"))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "controlplane.config.settings", "DATABASE_URL": f"{args.postgres}/{DATABASE}",
        "EI_DATA_DIR": str(workdir), "EI_MEDIA_ROOT": str(workdir / "media"), "DJANGO_SECRET_KEY": "bench-analytics",
    })
    redis_proc, created = None, False
    try:
        admin_sql(args.postgres, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin_sql(args.postgres, f"CREATE DATABASE {DATABASE}")
        created = True
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        port = free_port()
        redis_proc = start_redis_server(port, workdir, own_session=True)
        analysed_per_s, baseline_per_s = live(args, f"redis://127.0.0.1:{port}/0")
        query_p99 = history(args)
    finally:
        if redis_proc is not None:
            redis_proc.terminate(10)
        if created:
            from django.db import connections

            connections.close_all()
            admin_sql(args.postgres, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"analysed_per_s={analysed_per_s:.1f} baseline_per_s={baseline_per_s:.1f} "
          f"ratio={analysed_per_s / baseline_per_s:.3f} query_p99_ms={query_p99:.1f}")


if __name__ == "__main__":
    main()
