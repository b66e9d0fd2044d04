"""Puts a sample video in .assets/ for the demo and the tests; the last line of stdout is its path.

Real street footage (vtest.avi) comes from the Debian package opencv-doc, which `apt-get download`
fetches without root. Without apt or network, a clip is made from images bundled in scikit-image.
Progress goes to stderr, so `$(python scripts/fetch_assets.py)` captures the path alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / ".assets"
VTEST = ASSETS / "vtest.avi"
DEMO_CLIP = ASSETS / "demo-clip.avi"
PACKAGE = "opencv-doc"
MEMBER_SUFFIX = "/examples/data/vtest.avi"
CLIP_SIZE, CLIP_FPS, SECONDS_PER_IMAGE = (640, 480), 10, 5


def say(message: str) -> None:
    print(f"fetch_assets: {message}", file=sys.stderr, flush=True)


def playable(path: Path) -> bool:
    capture = cv2.VideoCapture(str(path))
    try:
        return capture.isOpened() and capture.read()[0]
    finally:
        capture.release()


def apt_download(workdir: Path) -> Path | None:
    """The downloaded .deb, retrying once after `apt-get update` (root only) in case the lists are stale."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        say("apt-get or dpkg-deb not found")
        return None
    # As root, apt would drop to its _apt user, which cannot write to our private temp dir, and warn.
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    for attempt in range(2):
        say(f"downloading the {PACKAGE} package with apt-get (about 96 MB)")
        download = ["apt-get", *sandbox, "download", PACKAGE]
        if subprocess.run(download, cwd=workdir, stdout=sys.stderr).returncode == 0:
            return next(workdir.glob(f"{PACKAGE}_*.deb"), None)
        if attempt or os.geteuid() != 0:
            return None
        say("download failed; refreshing the package lists with apt-get update")
        subprocess.run(["apt-get", "update", "-qq"], stdout=sys.stderr)
    return None


def extract_vtest(deb: Path, workdir: Path) -> Path | None:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    members = [line.split()[-1] for line in listing.splitlines() if line.endswith(MEMBER_SUFFIX)]
    if not members:
        say(f"{deb.name} holds no file ending in {MEMBER_SUFFIX}")
        return None
    say(f"extracting {members[0]} from {deb.name}")
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    extracted = subprocess.run(["tar", "-x", "-C", str(workdir), members[0]], stdin=tar.stdout)
    tar.stdout.close()
    if tar.wait() or extracted.returncode:
        return None
    return workdir / members[0]


def fetch_vtest() -> bool:
    with tempfile.TemporaryDirectory(prefix="ei-assets-") as tmp:
        workdir = Path(tmp)
        deb = apt_download(workdir)
        video = deb and extract_vtest(deb, workdir)
        if not video or not playable(video):
            return False
        ASSETS.mkdir(exist_ok=True)
        partial = VTEST.with_suffix(".part")
        shutil.move(video, partial)
        partial.replace(VTEST)
    return True


def pan_and_zoom(image: np.ndarray, frames: int) -> list[np.ndarray]:
    """A slow zoom from the whole image to 70% of it, the window drifting right and a little down (faces and
    heads tend to be in the upper half), as 640x480 frames."""
    height, width = image.shape[:2]
    out_width, out_height = CLIP_SIZE
    full_width = min(width, height * out_width / out_height)
    shots = []
    for i in range(frames):
        t = i / (frames - 1)
        crop_width = full_width * (1 - 0.3 * t)
        crop_height = crop_width * out_height / out_width
        x, y = (width - crop_width) * t, (height - crop_height) * t / 2
        crop = image[int(y):int(y + crop_height), int(x):int(x + crop_width)]
        shots.append(cv2.resize(crop, CLIP_SIZE, interpolation=cv2.INTER_AREA))
    return shots


def make_demo_clip() -> None:
    import skimage.data  # only here: slow to import, and not needed when apt works

    say(f"making {DEMO_CLIP.relative_to(REPO)} from scikit-image's sample images")
    ASSETS.mkdir(exist_ok=True)
    partial = DEMO_CLIP.with_name("demo-clip.part.avi")  # the extension picks the container
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"MJPG"), CLIP_FPS, CLIP_SIZE)
    for name in ("astronaut", "camera", "coffee", "chelsea"):
        image = getattr(skimage.data, name)()
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)
        for shot in pan_and_zoom(image, CLIP_FPS * SECONDS_PER_IMAGE):
            writer.write(shot)
    writer.release()
    partial.replace(DEMO_CLIP)


def main() -> int:
    if VTEST.exists() and playable(VTEST):
        say(f"{VTEST.relative_to(REPO)} is already here")
        print(VTEST)
        return 0
    if fetch_vtest():
        say(f"saved {VTEST.relative_to(REPO)}")
        print(VTEST)
        return 0
    say("could not get vtest.avi from apt: using a clip made from scikit-image samples instead")
    if not (DEMO_CLIP.exists() and playable(DEMO_CLIP)):
        make_demo_clip()
        if not playable(DEMO_CLIP):
            say(f"OpenCV cannot read back {DEMO_CLIP.relative_to(REPO)}: no sample video")
            return 1
    say(f"the demo will use {DEMO_CLIP.relative_to(REPO)}")
    print(DEMO_CLIP)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
