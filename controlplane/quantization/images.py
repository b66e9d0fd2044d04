"""Uploaded calibration images: the cheap check of what they are (from their first bytes, no OpenCV in the web
process), and their folder in the media storage, which lives only as long as the job."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath

from django.core.files import File
from django.core.files.storage import default_storage

from inference_worker.protocol import MAX_FRAME_BYTES

FOLDER = "quantization"
KINDS = "JPEG, PNG, BMP, WebP or TIFF"


def image_problem(upload: File) -> str | None:
    """What is obviously wrong with an uploaded image; None if it starts like one the job can decode."""
    if not upload.size:
        return "is empty"
    if upload.size > MAX_FRAME_BYTES:
        return f"has {upload.size} bytes; at most {MAX_FRAME_BYTES} are accepted"
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    known = (
        head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"BM")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP") or head[:4] in (b"II*\x00", b"MM\x00*")
    )
    return None if known else f"is not a {KINDS} image"


def save_images(uploads: Sequence[File]) -> tuple[str, list[str]]:
    """Store the images in a new folder of their own; returns the folder and the stored names. Nothing is left
    behind if one cannot be saved."""
    folder = f"{FOLDER}/{uuid.uuid4().hex}"
    names: list[str] = []
    try:
        for index, upload in enumerate(uploads):
            suffix = PurePosixPath(upload.name or "").suffix.lower()[:8]
            names.append(default_storage.save(f"{folder}/{index:04d}{suffix}", upload))
    except BaseException:
        delete_images(folder, names)
        raise
    return folder, names


def read_image(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()


def delete_images(folder: str, names: Sequence[str]) -> None:
    """Delete the stored images and, on a local disk, their folder."""
    for name in names:
        default_storage.delete(name)
    if not folder:
        return
    try:
        path = default_storage.path(folder)
    except NotImplementedError:  # storage without folders of its own, e.g. S3
        return
    try:
        os.rmdir(path)
    except OSError:  # already gone, or not empty (then something else put files there: leave them)
        pass
