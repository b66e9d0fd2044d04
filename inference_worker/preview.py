"""A small copy of a frame for screens that show many streams at once.

A dashboard grid draws tiles a few hundred pixels wide; sending it full frames costs every hop (the
relay, the channel layer, the web server, the browser's decoder) three to four times what the tile
can show. The worker already holds the decoded pixels, so a preview costs it a resize and an encode.
"""

from __future__ import annotations

import cv2
import numpy as np
import simplejpeg

QUALITY = 75


def make_preview(jpeg: bytes, width: int, height: int, picture: np.ndarray | None, max_width: int) -> bytes | None:
    """A JPEG at most ``max_width`` wide, or None when the frame is no wider (it is its own preview).

    ``picture`` is the frame as decoded for inference (BGR, possibly at a reduced scale); it is used
    when it has pixels enough, otherwise the JPEG is decoded again at the smallest scale that does.
    """
    if max_width <= 0 or width <= max_width:
        return None
    size = (max_width, max(1, round(height * max_width / width)))
    if picture is None or picture.shape[1] < size[0]:
        picture = simplejpeg.decode_jpeg(jpeg, "BGR", fastdct=True, fastupsample=True,
                                         min_width=size[0], min_height=size[1])
    if (picture.shape[1], picture.shape[0]) != size:
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    return simplejpeg.encode_jpeg(np.ascontiguousarray(picture), QUALITY, "BGR", "420", fastdct=True)
