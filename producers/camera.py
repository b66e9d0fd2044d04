"""How a camera is named: a V4L2 device index, as ``N`` or ``/dev/videoN``. One definition for the
producer's ``--device``, the control plane's validation of a camera stream, and the command it builds."""

from __future__ import annotations

import re

DEVICE = re.compile(r"(?:/dev/video)?([0-9]{1,2})")
MAX_INDEX = 63


def camera_index(value: str) -> int:
    """The device index ``value`` names; ValueError, saying what a camera looks like, when it names none."""
    match = DEVICE.fullmatch(value)
    if not match or int(match[1]) > MAX_INDEX:
        raise ValueError(f"A camera is a device index 0-{MAX_INDEX} or /dev/videoN.")
    return int(match[1])
