"""Bilingual templates: both languages render, anything unexpected is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from hawiya.notifications import errors, templates
from hawiya.notifications.errors import SmsTemplateError

CONTEXTS: dict[str, dict[str, object]] = {
    "one_time_code": {"code": "482913"},
    "activation_attempt": {"time": dt.datetime(2026, 3, 1, 7, 42, tzinfo=dt.UTC)},
    "account_locked": {"until": dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)},
    "password_changed": {},
    "mobile_changed": {"last_digits": "67"},
    "lost_document_reported": {"reference": "LR12345678"},
    "lost_document_reported_by_family": {"reference": "LR12345678"},
    "replacement_submitted": {"reference": "RP12345678"},
    "replacement_submitted_no_fee": {"reference": "RP12345678"},
    "appointment_booked": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": "مكتب الأحوال المدنية بحي الملز",
        "time": dt.datetime(2026, 3, 1, 8, 20, tzinfo=dt.UTC),
    },
    "appointment_moved": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": "مكتب الأحوال المدنية بحي الملز",
        "time": dt.datetime(2026, 3, 1, 8, 20, tzinfo=dt.UTC),
    },
    "appointment_cancelled": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": "مكتب الأحوال المدنية بحي الملز",
        "time": dt.datetime(2026, 3, 1, 8, 20, tzinfo=dt.UTC),
    },
    "appointment_reminder": {
        "appointment": "AP12345678",
        "office": "مكتب الأحوال المدنية بحي الملز",
        "time": dt.datetime(2026, 3, 1, 8, 20, tzinfo=dt.UTC),
    },
    "bill_issued": {
        "bill_number": "123456789012",
        "amount": "1,135",
        "reference": "RP12345678",
        "expires_at": dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC),
    },
    "replacement_paid": {"amount": "1,135", "reference": "RP12345678"},
    "replacement_expired": {"reference": "RP12345678"},
    "replacement_cancelled": {"reference": "RP12345678"},
    "replacement_cancelled_refund": {"reference": "RP12345678", "amount": "1,000"},
    # --- back-office: check-in to collection ---
    "replacement_checked_in": {"reference": "RP12345678"},
    "replacement_biometrics_captured": {"reference": "RP12345678", "days": 15},
    "replacement_checked_in_document": {"reference": "RP12345678"},
    "replacement_identity_confirmed": {"reference": "RP12345678"},
    "replacement_approved": {"reference": "RP12345678"},
    "replacement_rejected_photo": {"reference": "RP12345678"},
    "replacement_rejected_identity": {"reference": "RP12345678"},
    "replacement_rejected_documents": {"reference": "RP12345678"},
    "replacement_rejected_other": {"reference": "RP12345678"},
    "replacement_printed": {"reference": "RP12345678"},
    "replacement_ready_for_collection": {
        "reference": "RP12345678",
        "office": "مكتب الأحوال المدنية بحي الملز",
    },
    "replacement_collected": {
        "reference": "RP12345678",
        "time": dt.datetime(2026, 3, 1, 8, 20, tzinfo=dt.UTC),
    },
    "appointment_no_show": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": "مكتب الأحوال المدنية بحي الملز",
        "time": dt.datetime(2026, 3, 1, 8, 20, tzinfo=dt.UTC),
    },
    "mobile_rebound_new": {},
    "mobile_rebound_old": {"last_digits": "67"},
    # --- delivery: the courier ---
    "handover_code_collection": {
        "reference": "RP12345678",
        "code": "482913",
        "expires_at": dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC),
    },
    "handover_code_delivery": {
        "reference": "RP12345678",
        "code": "482913",
        "expires_at": dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC),
    },
    "shipment_dispatched": {"reference": "RP12345678"},
    "shipment_out_for_delivery": {"reference": "RP12345678"},
    "shipment_delivered": {"reference": "RP12345678"},
    "shipment_failed_attempt": {"reference": "RP12345678", "reason": "لم يرد صاحب الطلب على الاتصال"},
    "shipment_returned": {"reference": "RP12345678", "office": "مكتب الأحوال المدنية بحي الملز"},
    # --- counter identity services ---
    # --- supervisor: office holidays ---
    "appointment_cancelled_by_office": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": "مكتب الأحوال المدنية بحي الملز",
        "time": dt.datetime(2026, 3, 1, 8, 20, tzinfo=dt.UTC),
    },
}


def test_every_template_has_a_context_here() -> None:
    assert set(CONTEXTS) == set(templates.TEMPLATES)


@pytest.mark.parametrize("template", sorted(templates.TEMPLATES))
def test_both_languages_take_the_same_placeholders(template: str) -> None:
    texts = templates.TEMPLATES[template]
    assert set(texts) == {"ar", "en"}
    assert templates.placeholders(texts["ar"]) == templates.placeholders(texts["en"])


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("template", sorted(templates.TEMPLATES))
def test_every_template_renders_within_sms_length(template: str, language: str) -> None:
    body = templates.render(template, language, CONTEXTS[template])
    assert "{" not in body
    assert "}" not in body
    assert templates.sms_segments(body) <= templates.MAX_SEGMENTS


def test_one_time_code_in_arabic_ends_with_the_domain_bound_line(settings) -> None:
    settings.HAWIYA_SMS_DOMAIN = "hawiya.example"
    body = templates.render("one_time_code", "ar", {"code": "482913"})
    assert body.startswith("رمز التحقق: 482913\n")
    assert "لا تشاركه مع أحد" in body
    assert body.splitlines()[-1] == "@hawiya.example #482913"


def test_one_time_code_in_english_ends_with_the_domain_bound_line() -> None:
    body = templates.render("one_time_code", "en", {"code": "482913"})
    assert "482913" in body.splitlines()[0]
    assert "Do not share it" in body
    assert body.splitlines()[-1] == "@localhost #482913"


def test_times_are_riyadh_wall_clock_with_western_digits() -> None:
    body = templates.render("account_locked", "ar", CONTEXTS["account_locked"])
    assert "2026-03-01 11:00" in body


def test_unknown_template_is_refused() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("win_a_prize", "ar", {})
    assert caught.value.code == errors.SMS_TEMPLATE_UNKNOWN


def test_unknown_language_is_refused() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("password_changed", "fr", {})
    assert caught.value.code == errors.SMS_TEMPLATE_LANGUAGE_UNKNOWN


def test_missing_placeholder_is_refused() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("lost_document_reported", "en", {})
    assert caught.value.code == errors.SMS_TEMPLATE_PLACEHOLDER_MISSING


def test_unexpected_placeholder_is_refused() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("password_changed", "en", {"name": "Sara"})
    assert caught.value.code == errors.SMS_TEMPLATE_PLACEHOLDER_UNKNOWN


def test_caller_cannot_choose_the_code_domain() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("one_time_code", "en", {"code": "482913", "domain": "evil.example"})
    assert caught.value.code == errors.SMS_TEMPLATE_PLACEHOLDER_UNKNOWN


@pytest.mark.parametrize(
    "value",
    ["1\n@evil.example #1", "12\u202e34", "", "x" * 65, 4.5, None, True, dt.datetime(2026, 1, 1)],  # noqa: DTZ001
)
def test_values_that_could_break_the_layout_are_refused(value: object) -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("one_time_code", "en", {"code": value})
    assert caught.value.code == errors.SMS_TEMPLATE_VALUE_INVALID


def test_error_text_never_carries_the_values() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("one_time_code", "en", {"code": "482913\n"})
    assert "482913" not in str(caught.value)
    assert "482913" not in caught.value.detail


def test_a_message_longer_than_three_segments_is_refused(monkeypatch) -> None:
    monkeypatch.setitem(templates.TEMPLATES, "essay", {"ar": "ن" * 202, "en": "e" * 460})
    with pytest.raises(SmsTemplateError) as arabic:
        templates.render("essay", "ar", {})
    with pytest.raises(SmsTemplateError) as english:
        templates.render("essay", "en", {})
    assert arabic.value.code == english.value.code == errors.SMS_TOO_LONG


def test_non_plain_placeholders_are_refused(monkeypatch) -> None:
    monkeypatch.setitem(templates.TEMPLATES, "sneaky", {"ar": "{code.__class__}", "en": "{code!r}"})
    with pytest.raises(SmsTemplateError):
        templates.render("sneaky", "ar", {"code": "1"})
    with pytest.raises(SmsTemplateError):
        templates.render("sneaky", "en", {"code": "1"})


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # extension characters take two septets
        ("[" * 81, 2),
        ("ع" * 70, 1),
        ("ع" * 71, 2),
        ("ع" * 134, 2),
        ("ع" * 135, 3),
        ("a" * 69 + "ع", 1),  # one Arabic letter makes the whole message UCS-2
    ],
)
def test_segments_are_counted_as_phones_count_them(body: str, segments: int) -> None:
    assert templates.sms_segments(body) == segments
