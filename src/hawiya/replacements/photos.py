"""The photo uploaded for a delivered document: checked by its content, never by its name.

Rules (mission.md §1.12, our limits): a real JPEG or PNG (Pillow reads it), at most 5 MB, at
least 600 × 800 pixels, portrait, and the person declares the background is white.

What is kept is the photo re-encoded from its pixels, never the uploaded file: a phone's photo
carries EXIF (GPS position, device, time) and PNG text chunks that are not ours to store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from hawiya.core.errors import ApplicationError
from hawiya.core.images import strict_decoding

from . import errors

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MIN_WIDTH = 600
MIN_HEIGHT = 800
# Decompression bombs: a 5 MB file may claim a huge canvas; refuse anything beyond this.
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png")}
FIELD = "photo"
JPEG_QUALITY = 90


@dataclass(frozen=True)
class CheckedPhoto:
    content: bytes
    extension: str
    content_type: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def upload_digest(upload: UploadedFile | None) -> str:
    """SHA-256 of the uploaded bytes as sent ("" without a photo): what identifies the upload in an
    idempotency fingerprint, without checking or decoding it."""
    if upload is None:
        return ""
    upload.seek(0)
    digest = hashlib.sha256(upload.read(MAX_PHOTO_BYTES + 1)).hexdigest()
    upload.seek(0)
    return digest


def _reencoded(upright: Image.Image, image_format: str) -> bytes:
    """The pixels only, in a new file: no EXIF, GPS, comments, text chunks or colour profiles."""
    if image_format == "JPEG":
        clean = upright.convert("RGB")
    else:
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        clean = upright.convert("RGBA" if has_alpha else "RGB")
    # convert() copies `info` (exif, comment, icc_profile, text…), which save() would write back.
    clean.info = {}
    buffer = io.BytesIO()
    if image_format == "JPEG":
        clean.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        clean.save(buffer, format="PNG")
    return buffer.getvalue()


def photo_checked(upload: UploadedFile | None) -> CheckedPhoto:
    """The photo re-encoded without its metadata, and its facts; or ApplicationError (field
    "photo") saying what to change. Size and orientation are judged upright (EXIF rotation)."""
    if upload is None:
        raise ApplicationError(errors.PHOTO_MISSING, _("Upload a photo of yourself."), field=FIELD)
    if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
        raise ApplicationError(errors.PHOTO_TOO_LARGE, _("The photo must be 5 MB or smaller."), field=FIELD)
    upload.seek(0)
    content = upload.read(MAX_PHOTO_BYTES + 1)
    if len(content) > MAX_PHOTO_BYTES:
        raise ApplicationError(errors.PHOTO_TOO_LARGE, _("The photo must be 5 MB or smaller."), field=FIELD)
    if not content:
        raise ApplicationError(
            errors.PHOTO_MISSING, _("The photo file is empty. Upload a photo of yourself."), field=FIELD
        )
    not_an_image = ApplicationError(
        errors.PHOTO_INVALID, _("The photo must be a JPEG or PNG image."), field=FIELD
    )
    try:
        with Image.open(io.BytesIO(content)) as image:
            image_format = image.format or ""
            width, height = image.size
            if image_format not in FORMATS:
                raise not_an_image
            if width * height > MAX_PIXELS:
                raise ApplicationError(
                    errors.PHOTO_INVALID,
                    _("The photo is too large in pixels. Upload a smaller photo."),
                    field=FIELD,
                )
            image.verify()
        # verify() leaves the image unusable; decoding it once more finds truncated files.
        with strict_decoding(), Image.open(io.BytesIO(content)) as image:
            image.load()
            # A phone's portrait photo is often stored sideways with an EXIF rotation: judge and
            # keep it upright, since the rotation tag goes with the rest of the metadata.
            upright = ImageOps.exif_transpose(image)
            width, height = upright.size
    except ApplicationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise not_an_image from None
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ApplicationError(
            errors.PHOTO_TOO_SMALL,
            _(
                "The photo must be at least 600 pixels wide and 800 pixels high; "
                "this one is %(width)s × %(height)s."
            )
            % {"width": width, "height": height},
            field=FIELD,
        )
    if height <= width:
        raise ApplicationError(
            errors.PHOTO_NOT_PORTRAIT,
            _("The photo must be upright (portrait): taller than it is wide."),
            field=FIELD,
        )
    extension, content_type = FORMATS[image_format]
    return CheckedPhoto(_reencoded(upright, image_format), extension, content_type, width, height)


# Photos uploaded during a request journey wait here until the request is submitted (then they
# are stored with the request and this copy deleted). A journey abandoned half-way leaves its
# photo behind; `photo_uploads_sweep` removes those after a day.
PHOTO_UPLOAD_DIR = "replacement-uploads"
PHOTO_UPLOAD_KEPT_FOR = dt.timedelta(days=1)


def photo_uploads_sweep(*, now: dt.datetime, kept_for: dt.timedelta = PHOTO_UPLOAD_KEPT_FOR) -> int:
    """Delete journey uploads older than `kept_for`; returns how many. Personal data is not kept
    longer than the journey needs it (run every minute by run_periodic; cheap when empty)."""
    try:
        _directories, names = default_storage.listdir(PHOTO_UPLOAD_DIR)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in names:
        path = f"{PHOTO_UPLOAD_DIR}/{name}"
        try:
            written = default_storage.get_modified_time(path)
        except (FileNotFoundError, NotImplementedError):
            continue
        if written <= now - kept_for:
            default_storage.delete(path)
            deleted += 1
    return deleted
