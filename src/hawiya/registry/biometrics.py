"""Biometrics taken at a civil-affairs office: a photo and fingerprints.

Fingerprints come from a `FingerprintScanner`: the demo scanner (demo mode and tests) or the
workstation scanner bridge's HTTP API. What is kept is never the prints, nor the scanner's
template: only a keyed hash of the template (HMAC-SHA256 with HAWIYA_FINGERPRINT_TEMPLATE_KEY)
and what the scanner said about the capture (quality, fingers, device). The photo is re-encoded
from its pixels, so the camera's metadata (EXIF: GPS position, device, time) is not kept either.

A hash can only say "the same template", which is what the deterministic demo scanner gives for
the same finger. Real prints never give the same template twice: matching them needs a matcher
(an ABIS) that compares templates, and the hash here would then be replaced by its reference.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import io
import json
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.images import strict_decoding
from hawiya.core.outbound import OutboundFailure, opener, post_json

from . import errors
from .models import BiometricCapture, Office, Person

# Error codes (pages match on these; the photo ones are the same words as a request's photo).
PHOTO_MISSING = "photo_missing"
PHOTO_INVALID = "photo_invalid"
PHOTO_TOO_LARGE = "photo_too_large"
PHOTO_TOO_SMALL = "photo_too_small"
FINGERPRINT_QUALITY_LOW = "fingerprint_quality_low"
FINGERPRINT_INVALID = "fingerprint_invalid"
FINGERPRINT_SCANNER_UNAVAILABLE = "fingerprint_scanner_unavailable"
PERSON_DECEASED = "person_deceased"

AUDIT_BIOMETRICS_CAPTURED = "biometrics.captured"

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MIN_WIDTH = 300
MIN_HEIGHT = 400
# Decompression bombs: a 5 MB file may claim a huge canvas; refuse anything beyond this.
MAX_PIXELS = 40_000_000
PHOTO_FORMATS = frozenset({"JPEG", "PNG"})
JPEG_QUALITY = 90
FIELD_PHOTO = "photo"
FIELD_FINGERPRINTS = "fingerprints"

# Below this the scanner's own quality score means the prints cannot be compared reliably.
MIN_QUALITY = 40
MAX_TEMPLATE_BYTES = 16 * 1024
SCANNER_TIMEOUT = 30.0
DEMO_DEVICE_ID = "demo-scanner-1"
DEMO_DEVICE_MODEL = "Hawiya demo scanner"


# --- Scanners ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FingerprintCapture:
    """What a scanner gives for one capture. `template` never leaves this process unhashed."""

    template: bytes
    quality: int
    finger_count: int
    device_id: str
    device_model: str

    def __repr__(self) -> str:  # keep the template out of logs and tracebacks
        return (
            f"FingerprintCapture(quality={self.quality}, finger_count={self.finger_count}, "
            f"device_id={self.device_id!r})"
        )


class FingerprintScanner(Protocol):
    def capture(self, *, subject_hint: str) -> FingerprintCapture: ...


class DemoFingerprintScanner:
    """A deterministic template from `subject_hint`: the page passes the person's pk, and in demo
    mode a "someone else's finger" option passes another hint (which then does not match)."""

    def capture(self, *, subject_hint: str) -> FingerprintCapture:
        template = hashlib.sha512(f"hawiya-demo-finger:{subject_hint}".encode()).digest()
        return FingerprintCapture(
            template=template,
            quality=88,
            finger_count=10,
            device_id=DEMO_DEVICE_ID,
            device_model=DEMO_DEVICE_MODEL,
        )


def _scanner_failed() -> ApplicationError:
    return ApplicationError(
        FINGERPRINT_SCANNER_UNAVAILABLE,
        _("The fingerprint scanner did not answer properly. Check that it is connected and try again."),
        field=FIELD_FINGERPRINTS,
    )


class HttpFingerprintScanner:
    """The workstation scanner bridge: `POST {url}/capture` with `{}`, answered with
    `{"template_b64", "quality", "finger_count", "device_id", "device_model"}`. The bridge gets no
    hint of whose finger it is. A capture below MIN_QUALITY is refused (ask for another)."""

    def __init__(self, *, base_url: str, timeout: float = SCANNER_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def capture(self, *, subject_hint: str) -> FingerprintCapture:
        if not self.base_url.startswith(("http://", "https://")):
            raise _scanner_failed()
        try:
            raw = post_json(
                opener(),
                f"{self.base_url}/capture",
                b"{}",
                token="",
                idempotency_key=uuid.uuid4().hex,
                timeout=self.timeout,
            )
        except OutboundFailure:
            raise _scanner_failed() from None
        try:
            answer = json.loads(raw)
            template = base64.b64decode(str(answer["template_b64"]), validate=True)
            capture = FingerprintCapture(
                template=template,
                quality=_whole_number(answer["quality"]),
                finger_count=_whole_number(answer["finger_count"]),
                device_id=str(answer["device_id"]),
                device_model=str(answer["device_model"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise _scanner_failed() from None
        fingerprints_checked(capture)
        return capture


def _whole_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a whole number")
    return value


def fingerprint_scanner() -> FingerprintScanner:
    """The scanner the settings choose (HAWIYA_FINGERPRINT_SCANNER: "demo" or "http")."""
    name = str(getattr(settings, "HAWIYA_FINGERPRINT_SCANNER", "") or "demo")
    if name == "demo":
        return DemoFingerprintScanner()
    if name == "http":
        return HttpFingerprintScanner(base_url=str(getattr(settings, "HAWIYA_FINGERPRINT_SCANNER_URL", "")))
    raise ValueError(f"HAWIYA_FINGERPRINT_SCANNER must be 'demo' or 'http', not {name!r}")


def fingerprints_checked(capture: FingerprintCapture) -> FingerprintCapture:
    """The capture if it can be kept; else ApplicationError (field "fingerprints") saying why."""
    if capture.quality < MIN_QUALITY:
        raise ApplicationError(
            FINGERPRINT_QUALITY_LOW,
            _(
                "The fingerprints are not clear enough (quality %(quality)s of 100, at least %(minimum)s "
                "needed). Clean the scanner and the fingers, and capture them again."
            )
            % {"quality": capture.quality, "minimum": MIN_QUALITY},
            field=FIELD_FINGERPRINTS,
        )
    if (
        not capture.template
        or len(capture.template) > MAX_TEMPLATE_BYTES
        or not 1 <= capture.finger_count <= 10
        or capture.quality > 100
        or not 0 < len(capture.device_id) <= 64
        or not 0 < len(capture.device_model) <= 120
    ):
        raise ApplicationError(
            FINGERPRINT_INVALID,
            _("The scanner's answer could not be used. Capture the fingerprints again."),
            field=FIELD_FINGERPRINTS,
        )
    return capture


def template_hash(template: bytes) -> str:
    """HMAC-SHA256 of a template with HAWIYA_FINGERPRINT_TEMPLATE_KEY, hex: what is stored."""
    key = str(settings.HAWIYA_FINGERPRINT_TEMPLATE_KEY).encode()
    return hmac.new(key, template, hashlib.sha256).hexdigest()


# --- The photo -----------------------------------------------------------------------------------


def biometric_photo_checked(content: bytes) -> bytes:
    """The photo re-encoded as a JPEG from its pixels (upright, no metadata); or ApplicationError
    (field "photo"): a JPEG or PNG by its content, at most 5 MB, at least 300 × 400 pixels."""
    if not content:
        raise ApplicationError(PHOTO_MISSING, _("Take or upload the person's photo."), field=FIELD_PHOTO)
    if len(content) > MAX_PHOTO_BYTES:
        raise ApplicationError(PHOTO_TOO_LARGE, _("The photo must be 5 MB or smaller."), field=FIELD_PHOTO)
    not_an_image = ApplicationError(
        PHOTO_INVALID, _("The photo must be a JPEG or PNG image."), field=FIELD_PHOTO
    )
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if image.format not in PHOTO_FORMATS:
                raise not_an_image
            if width * height > MAX_PIXELS:
                raise ApplicationError(
                    PHOTO_INVALID,
                    _("The photo is too large in pixels. Take a smaller photo."),
                    field=FIELD_PHOTO,
                )
            image.verify()
        # verify() leaves the image unusable; decoding it once more finds truncated files.
        with strict_decoding(), Image.open(io.BytesIO(content)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except ApplicationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise not_an_image from None
    width, height = upright.size
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ApplicationError(
            PHOTO_TOO_SMALL,
            _(
                "The photo must be at least 300 pixels wide and 400 pixels high; "
                "this one is %(width)s × %(height)s."
            )
            % {"width": width, "height": height},
            field=FIELD_PHOTO,
        )
    clean = upright.convert("RGB")
    # convert() copies `info` (exif, comment, icc_profile…), which save() would write back.
    clean.info = {}
    buffer = io.BytesIO()
    clean.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


# --- Recording and matching ----------------------------------------------------------------------


def biometrics_record(
    *,
    person_id: int,
    office: Office,
    photo: bytes,
    fingerprints: FingerprintCapture,
    actor: str,
    actor_role: str = "",
    actor_office: str = "",
    ip: str | None = None,
    context_ref: str = "",
    at: dt.datetime | None = None,
) -> BiometricCapture:
    """Keep a person's photo and fingerprint template hash taken at `office`, and set the
    register's "biometrics captured on" date (Riyadh date of the capture).

    Checks the photo and the capture before anything is written; runs in the caller's transaction
    or its own, with the audit event `biometrics.captured` (detail: person_id, capture facts).
    Raises ApplicationError for the photo (`photo_*`), the capture (`fingerprint_quality_low`,
    `fingerprint_invalid`), `person_deceased`; NotFound `person_not_found`.
    """
    clean_photo = biometric_photo_checked(photo)
    fingerprints_checked(fingerprints)
    now = at or clock.now()
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person_id).first()
        if person is None:
            raise NotFound(errors.PERSON_NOT_FOUND, _("No person with this ID number is in the register."))
        if not person.is_alive:
            raise ApplicationError(PERSON_DECEASED, _("The register records this person as deceased."))
        capture = BiometricCapture(
            person=person,
            captured_at=now,
            office=office,
            actor=actor,
            fingerprint_template_hash=template_hash(fingerprints.template),
            finger_count=fingerprints.finger_count,
            quality=fingerprints.quality,
            device_id=fingerprints.device_id,
            device_model=fingerprints.device_model,
            context_ref=context_ref[:40],
        )
        # A random name: the file name never carries who the photo shows.
        capture.photo.save(f"{uuid.uuid4().hex}.jpg", ContentFile(clean_photo), save=False)
        capture.save(force_insert=True)
        person.biometrics_captured_on = now.astimezone(clock.RIYADH).date()
        person.save(update_fields=["biometrics_captured_on", "updated_at"])
        audit_record(
            actor=actor,
            actor_role=actor_role,
            actor_office=actor_office,
            ip=ip,
            action=AUDIT_BIOMETRICS_CAPTURED,
            object_type="registry.biometriccapture",
            object_id=capture.pk,
            detail={
                "person_id": person.pk,
                "office_id": office.pk,
                "finger_count": capture.finger_count,
                "quality": capture.quality,
            },
        )
    return capture


def fingerprint_matches(*, person_id: int, fingerprints: FingerprintCapture) -> bool:
    """Whether `fingerprints` give the template of the person's latest capture (False without
    one). A constant-time comparison of keyed hashes: right for the deterministic demo scanner;
    real prints need a matcher (ABIS) comparing templates, not an equality (see the module)."""
    latest = (
        BiometricCapture.objects.filter(person_id=person_id)
        .order_by("-captured_at", "-id")
        .values_list("fingerprint_template_hash", flat=True)
        .first()
    )
    if latest is None or not fingerprints.template:
        return False
    return hmac.compare_digest(latest, template_hash(fingerprints.template))
