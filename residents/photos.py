"""A resident's photo, as taken with the tablet's camera or uploaded.

Only JPEG, PNG and WebP are accepted, up to ``MAX_BYTES``. Whatever comes in is decoded
by Pillow and encoded again as a fresh JPEG no larger than ``MAX_SIDE`` pixels a side:
the EXIF block (GPS position, camera serial, time) and anything hidden after the image
data do not survive, and a file that only claims to be an image is refused.
"""

from __future__ import annotations

import io
import uuid

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

from medtech.core.errors import Invalid

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 800
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
# Far above any phone camera, far below a decompression bomb.
MAX_PIXELS = 40_000_000


class PhotoRejected(Invalid):
    """The upload is not a photo we keep; the message says what to do instead."""


def photo_reencode(*, upload: UploadedFile) -> ContentFile:
    """The upload as a new, metadata-free JPEG (at most MAX_SIDE px a side).

    Raises PhotoRejected for anything too big, of another type, or unreadable.
    """
    if upload.size is not None and upload.size > MAX_BYTES:
        raise PhotoRejected("The photo is larger than 5 MB. Take it again or choose a smaller one.")
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise PhotoRejected("The photo is larger than 5 MB. Take it again or choose a smaller one.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ALLOWED_FORMATS:
                raise PhotoRejected("The photo must be a JPEG, PNG or WebP picture.")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRejected("The photo has too many pixels. Take it again.")
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright = upright.convert("RGB")
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            buffer = io.BytesIO()
            upright.save(buffer, format="JPEG", quality=85, optimize=True)
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoRejected("That file is not a picture we can read. Take the photo again.") from (
            error
        )
    return ContentFile(buffer.getvalue(), name=f"{uuid.uuid4().hex}.jpg")
