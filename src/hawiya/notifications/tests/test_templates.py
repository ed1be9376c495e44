"""Bilingual templates: both languages render, anything unexpected is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from hawiya.core.text import FSI, LRI, PDI
from hawiya.notifications import errors, templates
from hawiya.notifications.errors import SmsTemplateError

# The longest names the register's offices may reasonably have (the demo's longest has 46
# characters), in both languages: every message must still fit three segments with them.
OFFICE = {
    "ar": "مكتب الأحوال المدنية بالعزيزية في مكة المكرمة الشمالية",
    "en": "Civil Affairs Office, Al Aziziyah North, Makkah Al Mukarramah",
}
# The longest dates: a long Gregorian month beside a long Hijri one.
LONG_DATE = dt.datetime(2026, 10, 21, 8, 20, tzinfo=dt.UTC)

CONTEXTS: dict[str, dict[str, object]] = {
    "one_time_code": {"code": "482913", "purpose": "password_reset"},
    "activation_attempt": {"time": dt.datetime(2026, 3, 1, 7, 42, tzinfo=dt.UTC)},
    "account_locked": {"until": dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)},
    "passkey_counter": {"name": "my phone"},
    "password_changed": {},
    "mobile_changed": {"last_digits": "67"},
    "lost_document_reported": {"reference": "LR12345678"},
    "lost_document_reported_by_family": {"reference": "LR12345678"},
    # The longest a party's name is in the message (document_checks.services.ALARM_PARTY_NAME_MAX).
    "lost_document_checked": {
        "party": {"ar": "ب" * 40, "en": "B" * 40},
        "document": {"ar": "بطاقة الهوية الوطنية", "en": "National ID card"},
        "last_digits": "1234",
        "time": dt.datetime(2026, 3, 1, 7, 42, tzinfo=dt.UTC),
    },
    "replacement_submitted": {"reference": "RP12345678"},
    "replacement_submitted_no_fee": {"reference": "RP12345678"},
    "appointment_booked": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": OFFICE,
        "time": LONG_DATE,
    },
    "appointment_moved": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": OFFICE,
        "time": LONG_DATE,
    },
    "appointment_cancelled": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": OFFICE,
        "time": LONG_DATE,
    },
    "appointment_reminder": {
        "appointment": "AP12345678",
        "office": OFFICE,
        "time": LONG_DATE,
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
        "office": OFFICE,
    },
    "replacement_collected": {
        "reference": "RP12345678",
        "time": LONG_DATE,
    },
    "appointment_no_show": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": OFFICE,
        "time": LONG_DATE,
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
    "shipment_failed_attempt": {
        "reference": "RP12345678",
        "reason": {"ar": "لم يرد صاحب الطلب على الاتصال", "en": "The recipient did not answer the phone"},
    },
    "shipment_returned": {"reference": "RP12345678", "office": OFFICE},
    # --- counter identity services ---
    # --- supervisor: office holidays ---
    "appointment_cancelled_by_office": {
        "appointment": "AP12345678",
        "reference": "RP12345678",
        "office": OFFICE,
        "time": LONG_DATE,
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
    body = templates.render("one_time_code", "ar", {"code": "482913", "purpose": "sign_in"})
    assert body.startswith(f"هوية: رمز تسجيل الدخول: {LRI}482913{PDI}\n")
    assert "لا تشاركه مع أحد" in body
    # Exactly the proposal's line, no bidi mark: phones would not offer to autofill otherwise.
    assert body.splitlines()[-1] == "@hawiya.example #482913"


def test_one_time_code_in_english_ends_with_the_domain_bound_line() -> None:
    body = templates.render("one_time_code", "en", {"code": "482913", "purpose": "sign_in"})
    assert body.splitlines()[0] == "Hawiya code to sign in: 482913"
    assert "Do not share it" in body
    assert body.splitlines()[-1] == "@localhost #482913"


@pytest.mark.parametrize(
    ("purpose", "arabic", "english"),
    [
        ("activation", "رمز تفعيل حسابك", "code to activate your account"),
        ("sign_in", "رمز تسجيل الدخول", "code to sign in"),
        ("password_reset", "رمز إعادة تعيين كلمة المرور", "code to reset your password"),
        ("reauthentication", "رمز تأكيد هويتك", "code to confirm it is you"),
        ("mobile_change_old", "رمز تغيير رقم جوالك", "code to change your mobile number"),
        ("mobile_change_new", "رمز تغيير رقم جوالك", "code to change your mobile number"),
    ],
)
def test_each_code_says_what_it_is_for(purpose: str, arabic: str, english: str) -> None:
    assert arabic in templates.render("one_time_code", "ar", {"code": "482913", "purpose": purpose})
    assert english in templates.render("one_time_code", "en", {"code": "482913", "purpose": purpose})


def test_an_unknown_purpose_is_refused() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("one_time_code", "en", {"code": "482913", "purpose": "win a prize"})
    assert caught.value.code == errors.SMS_TEMPLATE_VALUE_INVALID


def test_times_are_riyadh_wall_clock_in_both_calendars_with_western_digits() -> None:
    arabic = templates.render("account_locked", "ar", CONTEXTS["account_locked"])
    english = templates.render("account_locked", "en", CONTEXTS["account_locked"])
    assert f"{FSI}1 مارس 2026م (12 رمضان 1447هـ) الساعة 11:00{PDI}" in arabic
    assert "1 March 2026 (12 Ramadan 1447 AH) at 11:00" in english


def test_masked_digits_and_references_keep_their_order_in_arabic() -> None:
    changed = templates.render("mobile_changed", "ar", {"last_digits": "67"})
    lost = templates.render("lost_document_reported", "ar", {"reference": "LR12345678"})
    assert f"{LRI}67{PDI}" in changed
    assert f"{LRI}LR12345678{PDI}" in lost


def test_english_messages_stay_in_the_7_bit_alphabet() -> None:
    # An isolate in an English message would make it UCS-2: 70 characters a segment, not 160.
    body = templates.render("lost_document_reported", "en", {"reference": "LR12345678"})
    assert not any(mark in body for mark in (LRI, FSI, PDI))
    assert templates.sms_segments(body) == 1


def test_an_office_reads_in_the_language_of_the_message_and_is_isolated() -> None:
    context = CONTEXTS["replacement_ready_for_collection"]
    arabic = templates.render("replacement_ready_for_collection", "ar", context)
    english = templates.render("replacement_ready_for_collection", "en", context)
    assert f"{FSI}{OFFICE['ar']}{PDI}" in arabic
    assert OFFICE["en"] in english
    assert OFFICE["ar"] not in english


def test_an_arabic_value_in_an_english_message_is_isolated() -> None:
    body = templates.render(
        "replacement_ready_for_collection", "en", {"reference": "RP1", "office": "مكتب الملز"}
    )
    assert f"{FSI}مكتب الملز{PDI}" in body


def test_a_bilingual_value_is_checked_in_both_languages() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render(
            "replacement_ready_for_collection",
            "en",
            {"reference": "RP1", "office": {"ar": "م\u202eم", "en": "Malaz"}},
        )
    assert caught.value.code == errors.SMS_TEMPLATE_VALUE_INVALID


def test_bilingual_takes_a_translatable_text_or_a_function_of_the_language() -> None:
    from django.utils.translation import gettext_lazy

    assert templates.bilingual(gettext_lazy("Hawiya notification")) == {
        "ar": "إشعار من هوية",
        "en": "Hawiya notification",
    }
    assert templates.bilingual(lambda language: f"office-{language}") == {
        "ar": "office-ar",
        "en": "office-en",
    }


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(
    "template", ["appointment_booked", "appointment_no_show", "appointment_cancelled_by_office"]
)
def test_with_the_longest_office_name_the_message_keeps_a_short_date_rather_than_failing(
    template: str, language: str
) -> None:
    # Office names are cut to 64 characters; with a long date too the message would need a fourth
    # segment, and refusing it would refuse the booking.
    context = {**CONTEXTS[template], "office": {"ar": "م" * 64, "en": "O" * 64}}

    body = templates.render(template, language, context)

    assert templates.sms_segments(body) <= templates.MAX_SEGMENTS
    # English stays in the 7-bit alphabet and keeps both calendars; Arabic gives way.
    assert ("2026-10-21 11:20" in body) == (language == "ar")


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
        templates.render(
            "one_time_code", "en", {"code": "482913", "purpose": "sign_in", "domain": "evil.example"}
        )
    assert caught.value.code == errors.SMS_TEMPLATE_PLACEHOLDER_UNKNOWN


@pytest.mark.parametrize(
    "value",
    ["1\n@evil.example #1", "12\u202e34", "", "x" * 65, 4.5, None, True, dt.datetime(2026, 1, 1)],  # noqa: DTZ001
)
def test_values_that_could_break_the_layout_are_refused(value: object) -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("one_time_code", "en", {"code": value, "purpose": "sign_in"})
    assert caught.value.code == errors.SMS_TEMPLATE_VALUE_INVALID


def test_error_text_never_carries_the_values() -> None:
    with pytest.raises(SmsTemplateError) as caught:
        templates.render("one_time_code", "en", {"code": "482913\n", "purpose": "sign_in"})
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


def test_the_code_is_read_back_from_the_origin_bound_line_as_a_phone_would() -> None:
    from hawiya.notifications.templates import origin_bound_code, render

    for language in ("ar", "en"):
        body = render("one_time_code", language, {"purpose": "sign_in", "code": "402913"})
        assert origin_bound_code(body) == "402913"
    assert origin_bound_code("Hawiya: your card 123456 was reported lost.") is None
