"""How the analytics stage's tracker cuts real footage into tracks: the people detector on every frame of
``vtest.avi``, its detections through ``QueueTracker`` as the analyzer runs it.

Every frame of the street video, at the demo's width (``--width``, 640), is detected by ``builtin:people``
as the worker would (``Engine`` on the process's shared Core, as ``bench/decode_scale.py`` does); the
detections then go in frame order to a ``QueueTracker`` with the analyzer's default ``Settings``
(``high_score``, ``iou``, ``lifespan``), each frame at ts = index / the video's fps, and a track seen in at
least ``min_frames`` results is an event, as the analyzer counts them.

It prints the frames, detections, tracks, events, a histogram of event lengths in frames, the longest
events (track number, first and last frame, frames seen, where it began and ended), and the likely
breaks: an event that began at most ``lifespan`` seconds after another ended, within 0.08 of the frame of
where that one was last seen (often one walker broken in two; sometimes two people crossing).
``--contact-sheet out.png`` draws the best-scoring crop of the 12 longest events, of 6 short ones and of
the first likely breaks side by side, each with its track number and frame range, for a person to judge
how many tracks one walker became. ``--compare`` prints the same counts for a few other
(high_score, iou, lifespan) settings, the detections being the same.
The last line is ``frames=<n> detections=<d> tracks=<t> events=<e> long_events=<events seen in >= 50 frames>``.

    .venv/bin/python bench/tracks_vtest.py --contact-sheet /tmp/tracks.png --compare
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
from collections import Counter
from pathlib import Path

import cv2
import django
import numpy as np
import simplejpeg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.decode_scale import Found, detect_all  # noqa: E402
from bench.worker_throughput import VTEST, sample_jpegs  # noqa: E402
from inference_worker.engine import Engine  # noqa: E402
from inference_worker.model_store import load_model, shared_core  # noqa: E402

LONG = 50  # frames: a long event
BREAK_DISTANCE = 0.08  # of the frame, between where one track was last seen and the next first seen
LENGTH_BINS = [3, 5, 10, 25, 50, 100, 200, 400, 800]
CROP_HEIGHT = 150
COMPARED = [(0.6, 0.1, 2.0), (0.6, 0.25, 2.0), (0.5, 0.1, 2.0), (0.7, 0.1, 2.0), (0.6, 0.1, 1.0), (0.6, 0.1, 3.0)]


def video_fps() -> float:
    capture = cv2.VideoCapture(str(VTEST))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return fps


def detect(model: str, jpegs: list[bytes]) -> list[list[dict]]:
    height, width, _, _ = simplejpeg.decode_jpeg_header(jpegs[0])
    core = shared_core()
    found = Found()
    engine = Engine(load_model(core, model), core=core, on_result=found)
    return detect_all(engine, found, [engine.prepare(jpeg, width, height) for jpeg in jpegs])


def track(jpegs: list[bytes], detections: list[list[dict]], fps: float, high_score: float, iou: float, lifespan: float):
    """Every track (a ``Sighting``) the tracker made of the frames, in the order they ended."""
    from controlplane.analytics.tracking import Detection, Observed, QueueTracker

    tracker = QueueTracker(next_track=1, high_score=high_score, iou=iou, lifespan=lifespan)
    tracks = []
    for index, (jpeg, found) in enumerate(zip(jpegs, detections)):
        result = Observed(entry_id=f"{index}-0", seq=index, ts=index / fps, jpeg=jpeg,
                          detections=tuple(Detection(d["label"], d["score"], tuple(d["box"])) for d in found))
        tracks += tracker.update(result)[1]
    return tracks + tracker.finish()


def likely_breaks(events, fps: float, lifespan: float) -> list[tuple]:
    """(earlier, later) pairs: ``later`` began soon after ``earlier`` ended, near where it was last seen."""
    pairs = []
    for later in events:
        start = later.path[0][1:]
        candidates = [e for e in events if e is not later and 0 < later.first_seq - e.last_seq <= lifespan * fps
                      and math.dist(e.path[-1][1:], start) <= BREAK_DISTANCE]
        if candidates:
            pairs.append((min(candidates, key=lambda e: later.first_seq - e.last_seq), later))
    return sorted(pairs, key=lambda pair: pair[1].first_seq)


def summary(tracks, min_frames: int, fps: float, lifespan: float) -> tuple[list, list]:
    events = [t for t in tracks if t.frames >= min_frames]
    return events, likely_breaks(events, fps, lifespan)


def histogram(events) -> str:
    bins = Counter()
    for event in events:
        low = max(b for b in LENGTH_BINS if b <= event.frames)
        bins[low] += 1
    edges = [*LENGTH_BINS, None]
    return ", ".join(f"{low}-{high - 1 if high else ''}: {bins[low]}" for low, high in itertools.pairwise(edges) if bins[low])


def where(point) -> str:
    return f"({point[1]:.2f},{point[2]:.2f})"


def crop(event, note: str = "") -> np.ndarray:
    """The event's best-scoring box cut from its frame (with a margin), captioned."""
    image = cv2.imdecode(np.frombuffer(event.best_jpeg, np.uint8), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = event.best_box
    mx, my = (x1 - x0) * 0.15, (y1 - y0) * 0.1
    box = (int(max(0, x0 - mx) * width), int(max(0, y0 - my) * height),
           int(min(1, x1 + mx) * width), int(min(1, y1 + my) * height))
    piece = image[box[1]:max(box[3], box[1] + 1), box[0]:max(box[2], box[0] + 1)]
    piece = cv2.resize(piece, (max(1, round(piece.shape[1] * CROP_HEIGHT / piece.shape[0])), CROP_HEIGHT))
    tile = np.full((CROP_HEIGHT + 36, max(120, piece.shape[1] + 8), 3), 255, np.uint8)
    tile[4:4 + CROP_HEIGHT, 4:4 + piece.shape[1]] = piece
    for line, text in enumerate((f"#{event.track}{note}", f"f{event.first_seq}-{event.last_seq} ({event.frames})")):
        cv2.putText(tile, text, (4, CROP_HEIGHT + 17 + line * 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def row(title: str, tiles: list[np.ndarray], width: int) -> np.ndarray:
    out = np.full((CROP_HEIGHT + 36 + 24, width, 3), 235, np.uint8)
    cv2.putText(out, title, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 160), 1, cv2.LINE_AA)
    x = 4
    for tile in tiles:
        out[24:24 + tile.shape[0], x:x + tile.shape[1]] = tile
        x += tile.shape[1] + 6
    return out


def contact_sheet(path: Path, events, breaks) -> None:
    longest = sorted(events, key=lambda e: -e.frames)[:12]
    short = sorted(events, key=lambda e: (e.frames, e.first_seq))[:6]
    rows = [("the 12 longest events", [crop(e) for e in longest[:6]]), ("", [crop(e) for e in longest[6:]]),
            ("6 of the shortest events", [crop(e) for e in short])]
    pairs = [[crop(a, " ended"), crop(b, f" began after {a.track}")] for a, b in breaks[:12]]
    for start in range(0, len(pairs), 3):
        rows.append(("likely breaks: a track and the one that began where it ended" if start == 0 else "",
                     [tile for pair in pairs[start:start + 3] for tile in pair]))
    width = max(8 + sum(t.shape[1] + 6 for t in tiles) for _, tiles in rows)
    cv2.imwrite(str(path), np.vstack([row(title, tiles, width) for title, tiles in rows]))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.config.settings")
    django.setup()  # the analyzer's module defines models; only its Settings are read
    from controlplane.analytics.analyzer import Settings

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="builtin:people")
    p.add_argument("--width", type=int, default=640, help="frame width, as the producer's --max-width")
    p.add_argument("--contact-sheet", type=Path, help="write the crops of the longest, short and broken tracks here (PNG)")
    p.add_argument("--compare", action="store_true", help="also count tracks and events for a few other settings")
    args = p.parse_args()

    defaults = Settings()
    fps = video_fps()
    jpegs = sample_jpegs(100_000, args.width)
    detections = detect(args.model, jpegs)
    found = sum(len(d) for d in detections)
    print(f"{VTEST.name}: {len(jpegs)} frames at {fps:g} fps, {args.width} px wide; {args.model}: {found} detections "
          f"({found / len(jpegs):.1f} per frame)")
    print(f"tracker: the analyzer's defaults high_score={defaults.high_score} iou={defaults.iou} "
          f"lifespan={defaults.lifespan} s; an event is a track seen in >= {defaults.min_frames} frames", flush=True)
    tracks = track(jpegs, detections, fps, defaults.high_score, defaults.iou, defaults.lifespan)
    events, breaks = summary(tracks, defaults.min_frames, fps, defaults.lifespan)
    long_events = [e for e in events if e.frames >= LONG]
    print(f"tracks {len(tracks)}, events {len(events)} ({len(tracks) - len(events)} shorter tracks are noise), "
          f"events seen in >= {LONG} frames: {len(long_events)}")
    print(f"event lengths in frames: {histogram(events)}")
    print("longest events: track, frames first-last, seen in, from -> to (box centre, 0..1 of the frame)")
    for event in sorted(events, key=lambda e: -e.frames)[:15]:
        print(f"  #{event.track:<4} {event.first_seq:4d}-{event.last_seq:<4d} {event.frames:4d} frames, "
              f"{where(event.path[0])} -> {where(event.path[-1])}, best {event.best_score:.2f}")
    print(f"likely breaks ({len(breaks)}): an event began <= {defaults.lifespan:g} s after another ended, "
          f"within {BREAK_DISTANCE} of where it was last seen")
    for earlier, later in breaks:
        print(f"  #{earlier.track} ({earlier.first_seq}-{earlier.last_seq}) -> #{later.track} "
              f"({later.first_seq}-{later.last_seq}) at {where(later.path[0])}, {later.first_seq - earlier.last_seq} frames apart")
    if args.contact_sheet:
        contact_sheet(args.contact_sheet, events, breaks)
        print(f"contact sheet: {args.contact_sheet}")
    if args.compare:
        print("high_score  iou  lifespan: tracks events long_events likely_breaks")
        for high_score, iou, lifespan in COMPARED:
            compared = track(jpegs, detections, fps, high_score, iou, lifespan)
            some, broken = summary(compared, defaults.min_frames, fps, lifespan)
            print(f"  {high_score:9.2f} {iou:4.2f} {lifespan:8.1f}: {len(compared):6d} {len(some):6d} "
                  f"{sum(e.frames >= LONG for e in some):11d} {len(broken):13d}", flush=True)
    print(f"frames={len(jpegs)} detections={found} tracks={len(tracks)} events={len(events)} long_events={len(long_events)}")


if __name__ == "__main__":
    main()
