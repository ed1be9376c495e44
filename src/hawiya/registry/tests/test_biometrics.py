"""Biometrics at the office: the photo kept without metadata and checked for a blank, dark or
washed-out frame, only the matcher's reference of the fingerprint template, the register's date,
the audit event; the scanners (demo, and the HTTP bridge against a real local server) and the
verification of a new capture against the latest one (the matchers themselves: test_matchers)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.utils import translation
from PIL import Image, ImageDraw

from hawiya.audit.models import AuditEvent
from hawiya.audit.selectors import audit_chain_verify
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.fakepartner import FakePartner, Received, Reply, refused_port
from hawiya.registry.biometrics import (
    DemoFingerprintScanner,
    FingerprintCapture,
    HttpFingerprintScanner,
    biometric_photo_checked,
    biometrics_record,
    fingerprint_scanner,
    fingerprint_verify,
)
from hawiya.registry.matchers import template_hash
from hawiya.registry.models import BiometricCapture, Office, Person
from hawiya.registry.selectors import biometric_capture_latest, person_for_counter

from .factories import make_office, make_person, next_id_number

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 1, 22, 30, tzinfo=dt.UTC)  # already 2 March in Riyadh (01:30)
GPS_IFD = 0x8825


def photo(width: int = 480, height: int = 640, image_format: str = "JPEG", exif: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (236, 236, 232))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.15, width * 0.7, height * 0.6), fill=(190, 150, 120))
    draw.rectangle((width * 0.15, height * 0.68, width * 0.85, height), fill=(70, 70, 80))
    buffer = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x0132] = "2026:03:01 10:00:00"  # DateTime
        tags[GPS_IFD] = {1: "N", 2: (24.0, 42.0, 0.0)}
        image.save(buffer, format=image_format, exif=tags)
    else:
        image.save(buffer, format=image_format)
    return buffer.getvalue()


def demo(hint: str) -> FingerprintCapture:
    return DemoFingerprintScanner().capture(subject_hint=hint)


def record(person: Person, office: Office, **overrides: Any) -> BiometricCapture:
    values: dict[str, Any] = {
        "person_id": person.pk,
        "office": office,
        "photo": photo(),
        "fingerprints": demo(str(person.pk)),
        "actor": "user:7",
        "actor_role": "officer",
        "actor_office": office.code,
        "ip": "192.0.2.40",
        "context_ref": "RP12345678",
        "at": AT,
    }
    values.update(overrides)
    return biometrics_record(**values)


# --- Recording -----------------------------------------------------------------------------------


def test_a_capture_keeps_the_demo_matchers_reference_and_sets_the_register_date() -> None:
    person, office = make_person(), make_office()
    fingerprints = demo(str(person.pk))
    capture = record(person, office, fingerprints=fingerprints)

    capture.refresh_from_db()
    person.refresh_from_db()
    # The demo matcher's reference is the keyed hash of the template.
    assert capture.matcher == "demo"
    assert capture.template_reference == template_hash(fingerprints.template)
    assert len(capture.template_reference) == 64
    assert (capture.finger_count, capture.quality) == (10, 88)
    assert capture.device_id == "demo-scanner-1"
    assert capture.context_ref == "RP12345678"
    assert capture.office_id == office.pk
    assert capture.actor == "user:7"
    # The Riyadh date of the capture, not the UTC one.
    assert person.biometrics_captured_on == dt.date(2026, 3, 2)


def test_the_raw_template_is_stored_nowhere() -> None:
    person, office = make_person(), make_office()
    fingerprints = demo(str(person.pk))
    capture = record(person, office, fingerprints=fingerprints)

    stored = json.dumps(
        list(BiometricCapture.objects.filter(pk=capture.pk).values().get().values()), default=str
    )
    for form in (
        fingerprints.template.hex(),
        base64.b64encode(fingerprints.template).decode(),
        fingerprints.template.decode("latin-1"),
    ):
        assert form not in stored
    assert "template" not in repr(fingerprints).replace("fingerprint", "")


def test_the_hash_is_keyed(settings: Any) -> None:
    template = demo("1").template
    first = template_hash(template)
    settings.HAWIYA_FINGERPRINT_TEMPLATE_KEY = "another key"
    assert template_hash(template) != first


def test_the_photo_is_re_encoded_as_jpeg_without_metadata() -> None:
    person, office = make_person(), make_office()
    original = photo(exif=True)
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif()  # the upload carries EXIF, GPS included

    capture = record(person, office, photo=original)

    capture.photo.open("rb")
    kept = capture.photo.read()
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG"
        assert image.size == (480, 640)
        assert not image.getexif()
        assert "exif" not in image.info
    assert capture.photo.name.startswith("biometric-photos/")
    assert str(person.id_number) not in capture.photo.name


def test_a_png_is_accepted_and_kept_as_jpeg() -> None:
    person, office = make_person(), make_office()
    capture = record(person, office, photo=photo(image_format="PNG"))
    capture.photo.open("rb")
    with Image.open(io.BytesIO(capture.photo.read())) as image:
        assert image.format == "JPEG"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "photo_missing"),
        (b"not an image at all", "photo_invalid"),
        ("gif", "photo_invalid"),
        ("small", "photo_too_small"),
        ("large", "photo_too_large"),
        ("truncated", "photo_invalid"),
    ],
)
def test_a_bad_photo_is_refused_and_nothing_is_written(content: bytes | str, code: str) -> None:
    person, office = make_person(), make_office()
    if content == "gif":
        buffer = io.BytesIO()
        Image.new("RGB", (480, 640)).save(buffer, format="GIF")
        content = buffer.getvalue()
    elif content == "small":
        content = photo(299, 400)
    elif content == "large":
        content = photo() + b"\0" * (5 * 1024 * 1024)
    elif content == "truncated":
        content = photo()[:2000]
    assert isinstance(content, bytes)
    with pytest.raises(ApplicationError) as caught:
        record(person, office, photo=content)
    assert caught.value.code == code
    assert caught.value.field == "photo"
    assert not BiometricCapture.objects.exists()
    person.refresh_from_db()
    assert person.biometrics_captured_on is None


def frame(kind: str) -> bytes:
    """Camera frames generated with Pillow, 640 × 800, each failing (or passing) one check."""
    size = (640, 800)
    if kind == "grey":  # a wall, a covered lens in daylight
        image = Image.new("RGB", size, (128, 128, 128))
    elif kind == "black":  # a lens cap
        image = Image.new("RGB", size, (0, 0, 0))
    elif kind == "noisy_grey":  # sensor noise on a flat frame: still one colour
        image = Image.new("RGB", size, (128, 128, 128))
        draw = ImageDraw.Draw(image)
        for x in range(0, size[0], 2):
            draw.line((x, 0, x, size[1]), fill=(134, 134, 134))
    elif kind == "dark":  # a face in a dark room: detail, but mean grey about 30
        image = Image.linear_gradient("L").resize(size).point(lambda v: v * 60 // 255).convert("RGB")
    elif kind == "bright":  # washed out: 90 % white, a faint shape
        image = Image.new("RGB", size, (255, 255, 255))
        ImageDraw.Draw(image).rectangle((220, 300, 420, 460), fill=(150, 150, 150))
    elif kind == "white_thobe":  # white background, white thobe and ghutra: bright, and right
        image = Image.new("RGB", size, (238, 238, 238))
        draw = ImageDraw.Draw(image)
        draw.ellipse((200, 120, 440, 440), fill=(243, 243, 243))
        draw.ellipse((250, 190, 390, 400), fill=(170, 125, 95))
        draw.rectangle((100, 540, 540, 800), fill=(241, 241, 241))
    else:
        raise AssertionError(kind)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("grey", "photo_uniform", "one flat colour"),
        ("black", "photo_uniform", "camera may be covered"),
        ("noisy_grey", "photo_uniform", "one flat colour"),
        ("dark", "photo_too_dark", "too dark"),
        ("bright", "photo_too_bright", "too bright"),
    ],
)
def test_a_blank_dark_or_washed_out_frame_is_refused_with_a_clear_message(
    kind: str, code: str, words: str
) -> None:
    person, office = make_person(), make_office()
    with pytest.raises(ApplicationError) as caught:
        record(person, office, photo=frame(kind))
    assert (caught.value.code, caught.value.field) == (code, "photo")
    with translation.override("en"):
        assert words in str(caught.value.message)
    assert not BiometricCapture.objects.exists()


@pytest.mark.parametrize("kind", ["white_thobe"])
def test_a_bright_but_right_portrait_is_accepted(kind: str) -> None:
    assert biometric_photo_checked(frame(kind))


def test_the_quality_messages_are_in_arabic_too() -> None:
    for kind in ("grey", "dark", "bright"):
        with pytest.raises(ApplicationError) as caught:
            biometric_photo_checked(frame(kind))
        with translation.override("ar"):
            message = str(caught.value.message)
        assert "photo" not in message
        assert any("\u0600" <= character <= "\u06ff" for character in message)


def test_a_capture_of_low_quality_is_refused_with_a_clear_message() -> None:
    person, office = make_person(), make_office()
    poor = FingerprintCapture(
        template=b"x" * 64, quality=39, finger_count=10, device_id="d", device_model="m"
    )
    with pytest.raises(ApplicationError) as caught:
        record(person, office, fingerprints=poor)
    assert caught.value.code == "fingerprint_quality_low"
    assert "39" in str(caught.value.message)
    assert not BiometricCapture.objects.exists()


def test_a_capture_of_quality_40_is_kept() -> None:
    person, office = make_person(), make_office()
    fair = FingerprintCapture(template=b"x" * 64, quality=40, finger_count=4, device_id="d", device_model="m")
    assert record(person, office, fingerprints=fair).quality == 40


def test_a_deceased_person_and_an_unknown_one_are_refused() -> None:
    office = make_office()
    dead = make_person(date_of_death=dt.date(2025, 1, 1), mobile="")
    with pytest.raises(ApplicationError) as caught:
        record(dead, office)
    assert caught.value.code == "person_deceased"
    with pytest.raises(NotFound):
        biometrics_record(
            person_id=10**9, office=office, photo=photo(), fingerprints=demo("1"), actor="user:7"
        )
    assert not BiometricCapture.objects.exists()


def test_the_capture_is_audited_with_the_person_and_no_personal_data() -> None:
    person, office = make_person(), make_office()
    capture = record(person, office)
    event = AuditEvent.objects.get(action="biometrics.captured")
    assert event.object_id == str(capture.pk)
    assert event.detail == {
        "person_id": person.pk,
        "office_id": office.pk,
        "finger_count": 10,
        "quality": 88,
        "matcher": "demo",
    }
    assert (event.actor, event.actor_role, event.actor_office) == ("user:7", "officer", office.code)
    assert capture.template_reference not in json.dumps(event.detail)
    assert audit_chain_verify().ok


def test_inside_a_transaction_that_rolls_back_nothing_is_kept() -> None:
    person, office = make_person(), make_office()

    def step() -> None:
        with transaction.atomic():
            record(person, office)
            raise RuntimeError("the caller's step failed")

    with pytest.raises(RuntimeError):
        step()
    assert not BiometricCapture.objects.exists()
    person.refresh_from_db()
    assert person.biometrics_captured_on is None


# --- Verifying against the capture on file ------------------------------------------------------


def verified(person: Person, fingerprints: FingerprintCapture) -> bool:
    on_file = biometric_capture_latest(person_id=person.pk)
    assert on_file is not None
    return fingerprint_verify(capture=on_file, fingerprints=fingerprints).matched


def test_the_same_finger_matches_and_another_does_not() -> None:
    person, office = make_person(), make_office()
    record(person, office)
    assert verified(person, demo(str(person.pk)))
    assert not verified(person, demo("someone else"))


def test_the_latest_capture_is_the_one_compared() -> None:
    person, office = make_person(), make_office()
    record(person, office, fingerprints=demo("old"), at=AT)
    latest = record(person, office, fingerprints=demo("new"), at=AT + dt.timedelta(days=1))
    assert biometric_capture_latest(person_id=person.pk) == latest
    assert verified(person, demo("new"))
    assert not verified(person, demo("old"))


def test_a_capture_enrolled_with_another_matcher_cannot_be_compared(settings: Any) -> None:
    person, office = make_person(), make_office()
    capture = record(person, office)
    settings.HAWIYA_BIOMETRIC_MATCHER = "http"
    settings.HAWIYA_BIOMETRIC_MATCHER_URL = "http://127.0.0.1:9"
    with pytest.raises(ApplicationError) as caught:
        fingerprint_verify(capture=capture, fingerprints=demo(str(person.pk)))
    assert caught.value.code == "biometrics_enrolled_elsewhere"
    assert caught.value.field == "fingerprints"


def test_the_demo_scanner_is_deterministic_per_hint() -> None:
    assert demo("42") == demo("42")
    assert demo("42").template != demo("43").template


# --- The scanner bridge over HTTP ----------------------------------------------------------------


class Bridge(FakePartner):
    """The workstation scanner bridge on 127.0.0.1 (the shared fake partner): answers what the
    test set, records requests."""

    def __init__(self) -> None:
        super().__init__()
        self.standing = Reply.json({})

    def reply(self, payload: dict[str, Any], status: int = 200) -> None:
        self.standing = Reply.json(payload, status)

    def respond(self, request: Received) -> Reply:
        return self.standing


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    with Bridge() as running:
        yield running


TEMPLATE = bytes(range(256)) * 2


def good_answer(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "template_b64": base64.b64encode(TEMPLATE).decode(),
        "quality": 76,
        "finger_count": 10,
        "device_id": "scanner-0042",
        "device_model": "Morpho MSO 1300",
    }
    values.update(overrides)
    return values


def test_the_http_scanner_posts_an_empty_capture_request_and_reads_the_answer(bridge: Bridge) -> None:
    bridge.reply(good_answer())
    capture = HttpFingerprintScanner(base_url=bridge.url + "/").capture(subject_hint="1234")
    assert capture == FingerprintCapture(
        template=TEMPLATE,
        quality=76,
        finger_count=10,
        device_id="scanner-0042",
        device_model="Morpho MSO 1300",
    )
    # The bridge gets no hint of whose finger it is.
    assert [(request.path, request.payload) for request in bridge.received] == [("/capture", {})]
    assert bridge.received[0].headers["Content-Length"] == "2"  # exactly "{}"


def test_the_http_scanner_refuses_a_capture_below_quality_40(bridge: Bridge) -> None:
    bridge.reply(good_answer(quality=35))
    with pytest.raises(ApplicationError) as caught:
        HttpFingerprintScanner(base_url=bridge.url).capture(subject_hint="")
    assert caught.value.code == "fingerprint_quality_low"


@pytest.mark.parametrize(
    "answer",
    [
        {"quality": 70},
        good_answer(template_b64="not base64!"),
        good_answer(quality="70"),
        good_answer(finger_count=True),
        good_answer(template_b64=""),
        good_answer(finger_count=11),
    ],
)
def test_the_http_scanner_refuses_a_malformed_answer(bridge: Bridge, answer: dict[str, Any]) -> None:
    bridge.reply(answer)
    with pytest.raises(ApplicationError) as caught:
        HttpFingerprintScanner(base_url=bridge.url).capture(subject_hint="")
    assert caught.value.code in {"fingerprint_scanner_unavailable", "fingerprint_invalid"}
    assert caught.value.field == "fingerprints"


def test_the_http_scanner_reports_an_error_status_and_an_unreachable_bridge(bridge: Bridge) -> None:
    bridge.reply({"error": "no finger"}, status=503)
    with pytest.raises(ApplicationError) as caught:
        HttpFingerprintScanner(base_url=bridge.url).capture(subject_hint="")
    assert caught.value.code == "fingerprint_scanner_unavailable"

    unreachable = f"http://127.0.0.1:{refused_port()}"
    with pytest.raises(ApplicationError) as caught:
        HttpFingerprintScanner(base_url=unreachable, timeout=1).capture(subject_hint="")
    assert caught.value.code == "fingerprint_scanner_unavailable"
    with pytest.raises(ApplicationError):
        HttpFingerprintScanner(base_url="").capture(subject_hint="")


def test_the_settings_choose_the_scanner(settings: Any) -> None:
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"
    assert isinstance(fingerprint_scanner(), DemoFingerprintScanner)
    settings.HAWIYA_FINGERPRINT_SCANNER = "http"
    settings.HAWIYA_FINGERPRINT_SCANNER_URL = "http://127.0.0.1:9"
    chosen = fingerprint_scanner()
    assert isinstance(chosen, HttpFingerprintScanner)
    assert chosen.base_url == "http://127.0.0.1:9"
    settings.HAWIYA_FINGERPRINT_SCANNER = "usb"
    with pytest.raises(ValueError, match="usb"):
        fingerprint_scanner()


def test_a_capture_from_the_http_bridge_is_recorded_and_matched(bridge: Bridge) -> None:
    person, office = make_person(), make_office()
    bridge.reply(good_answer())
    scanner = HttpFingerprintScanner(base_url=bridge.url)
    record(person, office, fingerprints=scanner.capture(subject_hint=""))
    assert verified(person, scanner.capture(subject_hint=""))
    bridge.reply(good_answer(template_b64=base64.b64encode(b"another finger").decode()))
    assert not verified(person, scanner.capture(subject_hint=""))


# --- Selectors -----------------------------------------------------------------------------------


def test_the_counter_finds_a_person_by_id_number_typed_in_any_form() -> None:
    person = make_person()
    typed = " ".join(person.id_number[i : i + 3] for i in range(0, 10, 3))
    assert person_for_counter(id_number=typed) == person
    with pytest.raises(ApplicationError) as caught:
        person_for_counter(id_number="123")
    assert caught.value.code == "id_number_invalid"
    with pytest.raises(NotFound):
        person_for_counter(id_number=next_id_number())


def test_a_truncated_photo_is_refused_even_after_weasyprint_relaxed_pillow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ApplicationError) as caught:
        biometric_photo_checked(photo()[:2000])
    assert caught.value.code == "photo_invalid"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
