"""The stored photo is the uploaded one re-encoded from its pixels: no GPS position, camera,
comment or text chunk survives, and it is kept upright."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin

from hawiya.replacements.photos import photo_checked

from .factories import applicant_with_address, lost_id_card, submit

pytestmark = pytest.mark.django_db


def jpeg_with_gps(width: int = 600, height: int = 800, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (24.0, 42.0, 7.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (46.0, 43.0, 1.0),
    }
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="JPEG", exif=exif, comment=b"Home")
    return buffer.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "24.7136,46.6753")
    buffer = io.BytesIO()
    Image.new("RGB", (700, 900), "white").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_a_stored_jpeg_keeps_no_gps_exif_or_comment():
    uploaded = jpeg_with_gps()
    assert Image.open(io.BytesIO(uploaded)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    person = applicant_with_address()
    replacement = submit(
        applicant=person,
        document=lost_id_card(holder=person),
        method="delivery",
        photo=SimpleUploadedFile("me.jpg", uploaded, "image/jpeg"),
    )

    replacement.photo.open("rb")
    stored = replacement.photo.read()
    replacement.photo.close()
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert image.size == (600, 800)
    assert not image.getexif()
    assert "exif" not in image.info
    assert "comment" not in image.info
    assert b"PhoneMaker" not in stored
    assert b"Home" not in stored


def test_the_checked_photo_is_the_reencoded_bytes_and_its_hash():
    checked = photo_checked(SimpleUploadedFile("me.jpg", jpeg_with_gps(), "image/jpeg"))

    assert checked.content != jpeg_with_gps()
    assert not Image.open(io.BytesIO(checked.content)).getexif()
    assert checked.digest == hashlib.sha256(checked.content).hexdigest()


def test_a_stored_png_keeps_no_text_chunks():
    checked = photo_checked(SimpleUploadedFile("me.png", png_with_text(), "image/png"))

    image = Image.open(io.BytesIO(checked.content))
    assert isinstance(image, PngImagePlugin.PngImageFile)
    assert image.text == {}
    assert b"Location" not in checked.content
    assert checked.extension == "png"


def test_a_photo_rotated_by_exif_is_judged_and_kept_upright():
    # Stored sideways (800 × 600) with "rotate 90°": the phone shows it 600 × 800, portrait.
    checked = photo_checked(
        SimpleUploadedFile("me.jpg", jpeg_with_gps(800, 600, orientation=6), "image/jpeg")
    )

    assert (checked.width, checked.height) == (600, 800)
    assert Image.open(io.BytesIO(checked.content)).size == (600, 800)


def test_photos_of_abandoned_journeys_are_deleted_after_a_day() -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from hawiya.core import clock
    from hawiya.replacements.photos import PHOTO_UPLOAD_DIR, photo_uploads_sweep

    now = clock.now()
    # The suite's in-memory storage lives as long as the session: clear what earlier tests left.
    photo_uploads_sweep(now=now + dt.timedelta(days=30))
    name = default_storage.save(f"{PHOTO_UPLOAD_DIR}/abandoned.jpg", ContentFile(b"jpeg"))

    assert photo_uploads_sweep(now=now + dt.timedelta(hours=23)) == 0
    assert default_storage.exists(name)
    assert photo_uploads_sweep(now=now + dt.timedelta(hours=24, minutes=1)) == 1
    assert not default_storage.exists(name)
    assert photo_uploads_sweep(now=now + dt.timedelta(days=2)) == 0


def test_a_truncated_photo_is_refused_even_after_weasyprint_relaxed_pillow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported (every web process
    that renders a PDF); the photo check must still refuse a half-uploaded file."""
    from PIL import ImageFile

    from hawiya.core.errors import ApplicationError

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    truncated = jpeg_with_gps()[:3000]
    with pytest.raises(ApplicationError) as caught:
        photo_checked(SimpleUploadedFile("p.jpg", truncated, content_type="image/jpeg"))
    assert caught.value.code == "photo_invalid"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for WeasyPrint afterwards
