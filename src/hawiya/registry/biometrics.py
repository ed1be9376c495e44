"""Biometrics taken at a civil-affairs office: a photo and fingerprints.

Fingerprints come from a `FingerprintScanner`: the demo scanner (demo mode and tests) or the
workstation scanner bridge's HTTP API. They are enrolled with the fingerprint matcher
(registry.matchers: the ABIS, or the demo matcher) and what is kept is never the prints, nor the
scanner's template: only the matcher's reference of the enrolled template and what the scanner
said about the capture (quality, fingers, device). A later capture is compared with that
reference by the matcher (a score and a decision against the threshold), never by equality here.

The photo is re-encoded from its pixels, so the camera's metadata (EXIF: GPS position, device,
time) is not kept either; a frame that is blank, too dark or too bright is refused first.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.images import strict_decoding
from hawiya.core.outbound import OutboundFailure, Partner, post_json

from . import errors
from .matchers import BiometricMatcher, Enrolment, Verification, biometric_matcher
from .models import BiometricCapture, Office, Person

# Error codes (pages match on these; the photo ones are the same words as a request's photo).
PHOTO_MISSING = "photo_missing"
PHOTO_INVALID = "photo_invalid"
PHOTO_TOO_LARGE = "photo_too_large"
PHOTO_TOO_SMALL = "photo_too_small"
PHOTO_UNIFORM = "photo_uniform"
PHOTO_TOO_DARK = "photo_too_dark"
PHOTO_TOO_BRIGHT = "photo_too_bright"
FINGERPRINT_QUALITY_LOW = "fingerprint_quality_low"
FINGERPRINT_INVALID = "fingerprint_invalid"
FINGERPRINT_SCANNER_UNAVAILABLE = "fingerprint_scanner_unavailable"
PERSON_DECEASED = "person_deceased"
BIOMETRICS_ENROLLED_ELSEWHERE = "biometrics_enrolled_elsewhere"

AUDIT_BIOMETRICS_CAPTURED = "biometrics.captured"

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MIN_WIDTH = 300
MIN_HEIGHT = 400
# Decompression bombs: a 5 MB file may claim a huge canvas; refuse anything beyond this.
MAX_PIXELS = 40_000_000
PHOTO_FORMATS = frozenset({"JPEG", "PNG"})
JPEG_QUALITY = 90
# The photo's quality, judged on its grey levels (0-255) scaled down to QUALITY_SAMPLE pixels a
# side: below MIN_CONTRAST (standard deviation) the frame is one flat colour (a covered lens, a
# wall); the mean must lie between MIN_BRIGHTNESS and MAX_BRIGHTNESS. The upper bound is generous:
# a white background with a white thobe and ghutra is a right photo, and is bright (mean ~230).
QUALITY_SAMPLE = 256
MIN_CONTRAST = 12.0
MIN_BRIGHTNESS = 40.0
MAX_BRIGHTNESS = 240.0
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
                Partner.SCANNER_BRIDGE,
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
    photo_quality_checked(clean)
    # convert() copies `info` (exif, comment, icc_profile…), which save() would write back.
    clean.info = {}
    buffer = io.BytesIO()
    clean.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def photo_quality_checked(image: Image.Image) -> Image.Image:
    """`image` if a face can be seen in it at all; else ApplicationError (field "photo"): a frame of
    one flat colour (`photo_uniform`), too dark (`photo_too_dark`) or too bright (`photo_too_bright`).
    A basic check of the camera's frame, not a judgement of the face (the officer looks at it)."""
    sample = image.convert("L")
    sample.thumbnail((QUALITY_SAMPLE, QUALITY_SAMPLE))
    stat = ImageStat.Stat(sample)
    brightness, contrast = stat.mean[0], stat.stddev[0]
    if contrast < MIN_CONTRAST:
        raise ApplicationError(
            PHOTO_UNIFORM,
            _(
                "The photo is almost one flat colour: the camera may be covered or not pointed at "
                "the person. Take the photo again with the person's face in the frame."
            ),
            field=FIELD_PHOTO,
        )
    if brightness < MIN_BRIGHTNESS:
        raise ApplicationError(
            PHOTO_TOO_DARK,
            _("The photo is too dark. Light the person's face better and take the photo again."),
            field=FIELD_PHOTO,
        )
    if brightness > MAX_BRIGHTNESS:
        raise ApplicationError(
            PHOTO_TOO_BRIGHT,
            _(
                "The photo is too bright: the face is washed out. Reduce the light or move away from "
                "the window, and take the photo again."
            ),
            field=FIELD_PHOTO,
        )
    return image


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
    enrolment: Enrolment | None = None,
) -> BiometricCapture:
    """Keep a person's photo and the matcher's reference of their fingerprints taken at `office`,
    and set the register's "biometrics captured on" date (Riyadh date of the capture).

    `enrolment` is `fingerprints_enrol(fingerprints)`: a caller that holds a transaction enrols
    first, so the matcher (an outside system) is never called while rows are locked; without it
    the fingerprints are enrolled here. Checks the photo and the capture before anything is
    written; runs in the caller's transaction or its own, with the audit event
    `biometrics.captured` (detail: person_id, capture facts, the matcher; never the reference).
    Raises ApplicationError for the photo (`photo_*`), the capture (`fingerprint_quality_low`,
    `fingerprint_invalid`), `person_deceased`, MatcherUnavailable; NotFound `person_not_found`.
    """
    clean_photo = biometric_photo_checked(photo)
    fingerprints_checked(fingerprints)
    if enrolment is None:
        enrolment = fingerprints_enrol(fingerprints)
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
            matcher=enrolment.matcher,
            template_reference=enrolment.reference,
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
                "matcher": capture.matcher,
            },
        )
    return capture


def fingerprints_enrol(
    fingerprints: FingerprintCapture, *, matcher: BiometricMatcher | None = None
) -> Enrolment:
    """Enrol a capture's template with the matcher (the settings' one by default), for
    `biometrics_record`. Call it outside a transaction: the ABIS is an outside system. Raises the
    capture's errors (`fingerprint_quality_low`, `fingerprint_invalid`) and MatcherUnavailable."""
    fingerprints_checked(fingerprints)
    return (matcher or biometric_matcher()).enrol(fingerprints.template)


def fingerprint_verify(
    *, capture: BiometricCapture, fingerprints: FingerprintCapture, matcher: BiometricMatcher | None = None
) -> Verification:
    """Compare a fresh capture with the one on file (1:1): the matcher's score and decision.

    Raises ApplicationError `biometrics_enrolled_elsewhere` when the capture on file was enrolled
    with another matcher than the one configured (it cannot compare it: the person's biometrics
    must be taken again), `fingerprint_quality_low` / `fingerprint_invalid` for the new capture,
    and MatcherUnavailable. Call it outside a transaction."""
    chosen = matcher or biometric_matcher()
    if capture.matcher != chosen.name:
        raise ApplicationError(
            BIOMETRICS_ENROLLED_ELSEWHERE,
            _(
                "The fingerprints on file were enrolled with another fingerprint matching system, so "
                "they cannot be compared. Take the person's biometrics again (for example with a "
                "replacement request)."
            ),
            field=FIELD_FINGERPRINTS,
        )
    fingerprints_checked(fingerprints)
    return chosen.verify(reference=capture.template_reference, probe=fingerprints.template)
