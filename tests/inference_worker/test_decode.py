"""The worker's intake without a worker process: screening messages, and decoding on a pool with the real engine."""

from __future__ import annotations

import logging
import time

import cv2
import msgpack
import openvino as ov
import pytest
import simplejpeg

from inference_worker import protocol
from inference_worker.decode import Decoded, DecodePool, Expired, Rejected, RejectLog, screen
from inference_worker.engine import Engine
from inference_worker.model_store import load_model
from inference_worker.preview import SKIPPED
from tests.support import frame_bytes, jpeg_of, sample_image

ASTRONAUT = jpeg_of(sample_image("astronaut"))  # 512x512
SMALL = jpeg_of(cv2.resize(sample_image("astronaut"), (256, 256)))


@pytest.fixture(scope="module")
def engine() -> Engine:
    core = ov.Core()
    return Engine(load_model(core, "builtin:face"), core=core, requests=1, on_result=lambda *_: None)


def frame(stream: str, seq: int, jpeg: bytes) -> protocol.Frame:
    return protocol.decode_frame(frame_bytes(stream, seq, jpeg))


def test_a_fresh_frame_with_a_sound_header_is_let_through():
    raw = frame_bytes("cam", 3, ASTRONAUT)
    assert screen(raw, now=time.time(), max_age=1.0) == protocol.decode_frame(raw)


def test_a_frame_older_than_the_max_age_expires_on_its_stream():
    raw = frame_bytes("late", 0, ASTRONAUT, ts=time.time() - 3)
    assert screen(raw, now=time.time(), max_age=1.0) == Expired("late")
    assert isinstance(screen(raw, now=time.time(), max_age=5.0), protocol.Frame)


def test_unusable_messages_are_rejected_by_kind_and_stream_when_it_can_be_trusted():
    valid = msgpack.unpackb(frame_bytes("cam", 0, ASTRONAUT))
    cases = {
        b"\x00not msgpack\xff": (None, "not-msgpack"),
        msgpack.packb({**valid, "stream": "../../etc"}): (None, "bad-stream"),
        msgpack.packb({**valid, "data": b"\xff\xd8" + b"\x00" * 500}): ("cam", "corrupt-jpeg"),
        msgpack.packb({**valid, "w": 640}): ("cam", "size-mismatch"),
    }
    for raw, (stream, kind) in cases.items():
        verdict = screen(raw, now=time.time(), max_age=1.0)
        assert isinstance(verdict, Rejected) and (verdict.stream, verdict.kind) == (stream, kind), verdict


def test_each_kind_of_rejection_is_logged_once_then_every_thousandth(caplog):
    log = RejectLog()
    with caplog.at_level(logging.WARNING, logger="ei.worker"):
        for _ in range(1000):
            log(Rejected("cam", "corrupt-jpeg", "seq 1"))
        log(Rejected(None, "not-msgpack", "garbage"))
    assert [r.getMessage() for r in caplog.records] == [
        "rejected frame (corrupt-jpeg, 1 so far): seq 1",
        "rejected frame (corrupt-jpeg, 1000 so far): seq 1",
        "rejected frame (not-msgpack, 1 so far): garbage",
    ]


def test_frames_come_back_decoded_in_the_order_they_came_in_with_previews_of_wide_ones(engine):
    pool = DecodePool(engine.prepare, threads=2, preview_width=320)
    frames = [frame("cam", seq, ASTRONAUT if seq % 3 == 0 else SMALL) for seq in range(12)]
    out: list[Decoded | Rejected] = []
    try:
        for item in frames:
            pool.add(item)
            out.extend(pool.ready())
            assert len(pool) <= pool.threads, "no more pending decodes than threads"
        while pool:
            out.append(pool.oldest())
    finally:
        pool.shutdown()
    assert [d.frame for d in out] == frames
    for decoded in out:
        if decoded.frame.width > 320:
            assert simplejpeg.decode_jpeg_header(decoded.preview)[:2] == (320, 320)
        else:
            assert decoded.preview is None
        assert decoded.prepared.tensor.shape[0] == 1 and decoded.prepared.picture.size > 0


def test_a_jpeg_corrupt_past_its_header_is_rejected_in_its_place(engine):
    raw = frame_bytes("cam", 1, ASTRONAUT[: len(ASTRONAUT) // 3])
    truncated = screen(raw, now=time.time(), max_age=1.0)
    assert isinstance(truncated, protocol.Frame), "its header is sound"
    pool = DecodePool(engine.prepare, threads=1, preview_width=0)
    try:
        for item in (frame("cam", 0, SMALL), truncated, frame("cam", 2, SMALL)):
            pool.add(item)
        first, second, third = (pool.oldest() for _ in range(3))
    finally:
        pool.shutdown()
    assert (first.frame.seq, third.frame.seq) == (0, 2)
    assert isinstance(second, Rejected) and (second.stream, second.kind) == ("cam", "corrupt-jpeg")
    assert "seq 1" in second.detail


def test_a_wide_frame_whose_preview_is_not_wanted_says_so_and_a_narrow_one_needs_none(engine):
    pool = DecodePool(engine.prepare, threads=1, preview_width=320)
    try:
        pool.add(frame("cam", 0, ASTRONAUT), preview=False)
        pool.add(frame("cam", 1, SMALL), preview=False)
        pool.add(frame("cam", 2, SMALL))
        skipped, narrow, small = (pool.oldest() for _ in range(3))
    finally:
        pool.shutdown()
    assert skipped.preview == SKIPPED == b"" and protocol.encode_result({}, ASTRONAUT, skipped.preview)["preview"] == b""
    assert narrow.preview is None and small.preview is None, "the frame is its own preview"
    assert (pool.wants_preview(frame("cam", 3, ASTRONAUT)), pool.wants_preview(frame("cam", 4, SMALL))) == (True, False)
