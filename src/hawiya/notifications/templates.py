"""Text-message templates, as code: every message exists in Arabic and English.

Templates are plain `str.format` strings with named placeholders. `render` refuses an unknown
template or language, a missing or unexpected placeholder, a value that could break the message's
layout (line breaks, control characters), and a message longer than three SMS segments.

`one_time_code` ends with the domain-bound one-time-code line (`@hawiya.example #123456`, the
format of the WICG "origin-bound one-time codes" proposal that iOS, Android and Chrome's WebOTP
read): phones offer to autofill the code only on that domain, which blunts phishing pages.
"""

from __future__ import annotations

import datetime as dt
import math
import string
import unicodedata
from collections.abc import Mapping

from django.conf import settings

from hawiya.core.clock import RIYADH

from . import errors

# The domain is filled in by `render` from settings, never by the caller: a caller must not be
# able to bind a code to another site.
RESERVED_PLACEHOLDERS = frozenset({"domain"})

TEMPLATES: dict[str, dict[str, str]] = {
    "one_time_code": {
        "ar": "رمز التحقق: {code}\nصالح لمدة 5 دقائق. لا تشاركه مع أحد.\n\n@{domain} #{code}",
        "en": "Hawiya verification code: {code}\nValid for 5 minutes. Do not share it with anyone.\n\n"
        "@{domain} #{code}",
    },
    "activation_attempt": {
        "ar": "هوية: جرت محاولة لتفعيل حساب برقم هويتك في {time}. إن لم تكن أنت فلا تشارك أي رمز مع أحد.",
        "en": "Hawiya: someone tried to activate an account with your ID number at {time}. "
        "If this was not you, never share a code with anyone.",
    },
    "account_locked": {
        "ar": "هوية: أُوقف الدخول إلى حسابك مؤقتًا بعد محاولات دخول غير ناجحة، حتى {until}. "
        "إن لم تكن أنت فغيّر كلمة المرور بعد ذلك.",
        "en": "Hawiya: sign-in to your account is paused until {until} after failed attempts. "
        "If this was not you, change your password then.",
    },
    "password_changed": {
        "ar": "هوية: تم تغيير كلمة مرور حسابك. إن لم تكن أنت فتواصل معنا فورًا.",
        "en": "Hawiya: your account password was changed. If this was not you, contact us at once.",
    },
    # Sent to the number the change replaced: its owner may not be the one who made the change.
    "mobile_changed": {
        "ar": "هوية: تم تغيير رقم الجوال المسجّل لحسابك إلى الرقم المنتهي بـ {last_digits}. "
        "إن لم تكن أنت فراجع أحد مكاتب الأحوال المدنية ببطاقة هويتك فورًا.",
        "en": "Hawiya: the mobile number of your account was changed to the number ending in "
        "{last_digits}. If this was not you, visit a civil-affairs office with your ID card at once.",
    },
    "lost_document_reported": {
        "ar": "هوية: سُجّل بلاغ الفقدان رقم {reference}. أُلغيت الوثيقة المبلّغ عنها ولا يمكن استخدامها.",
        "en": "Hawiya: lost-document report {reference} is registered. "
        "The reported document is cancelled and can no longer be used.",
    },
    # To the holder, when the head of their family reported their document (losses.services).
    "lost_document_reported_by_family": {
        "ar": "هوية: أبلغ رب أسرتك عن فقدان وثيقة لك، بلاغ رقم {reference}. "
        "أُلغيت الوثيقة ولا يمكن استخدامها. إن لم تكن تعلم فراجع أحد مكاتب الأحوال المدنية.",
        "en": "Hawiya: a document of yours was reported lost by the head of your family, reference "
        "{reference}. It is cancelled and can no longer be used. If this is unexpected, visit a "
        "civil-affairs office.",
    },
    # Replacement requests (replacements.services.replacement_submit).
    "replacement_submitted": {
        "ar": "هوية: استلمنا طلب بدل الفاقد رقم {reference}. "
        "تابع الطلب وادفع المبلغ المستحق من صفحة متابعة الطلبات.",
        "en": "Hawiya: replacement request {reference} is registered. "
        "Pay any amount due and follow the request in Track my requests.",
    },
    # Appointments (appointments/services.py): {time} is an aware datetime, shown in Riyadh time;
    # {office} is the office's name in the person's language.
    "appointment_booked": {
        "ar": "هوية: حُجز موعدك {appointment} للطلب {reference} في {office}، {time}. "
        "أحضر نموذج 58 وتذكرة الموعد.",
        "en": "Hawiya: appointment {appointment} for request {reference} is booked at {office}, {time}. "
        "Bring Form 58 and your appointment ticket.",
    },
    "appointment_moved": {
        "ar": "هوية: نُقل موعدك {appointment} للطلب {reference} إلى {time} في {office}.",
        "en": "Hawiya: appointment {appointment} for request {reference} is moved to {time} at {office}.",
    },
    "appointment_cancelled": {
        "ar": "هوية: أُلغي موعدك {appointment} ({time}، {office}) للطلب {reference}. يمكنك حجز موعد آخر.",
        "en": "Hawiya: appointment {appointment} ({time}, {office}) for request {reference} is cancelled. "
        "You can book another.",
    },
    "appointment_reminder": {
        "ar": "هوية: تذكير بموعدك {appointment} غدًا {time} في {office}. أحضر نموذج 58 وتذكرة الموعد.",
        "en": "Hawiya: reminder, appointment {appointment} is tomorrow, {time}, at {office}. "
        "Bring Form 58 and your appointment ticket.",
    },
    # Payments (payments/services.py, casework/services.py): {amount} is "135" (SAR),
    # {expires_at} an aware datetime shown in Riyadh time.
    "bill_issued": {
        "ar": "هوية: فاتورة سداد رقم {bill_number} بمبلغ {amount} ريال للطلب {reference}. "
        "ادفعها قبل {expires_at} وإلا أُلغي الطلب.",
        "en": "Hawiya: SADAD bill {bill_number} for SAR {amount}, request {reference}. "
        "Pay it before {expires_at} or the request is cancelled.",
    },
    "replacement_paid": {
        "ar": "هوية: استلمنا {amount} ريال للطلب {reference}. تابع الخطوة التالية في صفحة الطلب.",
        "en": "Hawiya: we received SAR {amount} for request {reference}. "
        "See the next step on the request page.",
    },
    "replacement_expired": {
        "ar": "هوية: لم تُدفع فاتورة الطلب {reference} خلال 72 ساعة، فأُلغي الطلب. يمكنك تقديم طلب جديد.",
        "en": "Hawiya: the bill for request {reference} was not paid within 72 hours, so the request "
        "is cancelled. You can apply again.",
    },
    "replacement_cancelled": {
        "ar": "هوية: أُلغي الطلب {reference} بناءً على طلبك.",
        "en": "Hawiya: request {reference} is cancelled, as you asked.",
    },
    "replacement_cancelled_refund": {
        "ar": "هوية: أُلغي الطلب {reference} بناءً على طلبك. سنعيد {amount} ريال (الغرامة) إلى وسيلة الدفع؛ "
        "رسوم التوصيل لا تُسترد.",
        "en": "Hawiya: request {reference} is cancelled, as you asked. The fine, SAR {amount}, is refunded "
        "to your payment method; the delivery fee is not refundable.",
    },
    # --- back-office: check-in to collection (casework / replacements) ---
    # --- delivery: the courier ---
    # --- counter identity services ---
}

# Bodies of these templates carry a secret: hidden in the admin and logs whatever the caller says.
SECRET_TEMPLATES = frozenset({"one_time_code"})

LANGUAGES = ("ar", "en")
MAX_SEGMENTS = 3
MAX_VALUE_LENGTH = 64

# GSM 03.38: the 7-bit alphabet every phone reads. Characters of the extension table take two
# septets. Anything else (Arabic, emoji) switches the whole message to UCS-2.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def sms_segments(body: str) -> int:
    """How many SMS segments `body` takes: 160/153 septets in GSM-7, 70/67 UTF-16 units in UCS-2."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in body):
        units = sum(2 if char in _GSM_EXTENSION else 1 for char in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return math.ceil(units / multi)


def placeholders(text: str) -> frozenset[str]:
    """The named placeholders of a template text; anything but a plain `{name}` is refused."""
    names = set()
    for _literal, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise errors.SmsTemplateError(
                errors.SMS_TEMPLATE_PLACEHOLDER_UNKNOWN, f"placeholder {{{field}}} is not a plain name"
            )
        names.add(field)
    return frozenset(names)


def sms_domain() -> str:
    """The site one-time codes are bound to (setting HAWIYA_SMS_DOMAIN, default "localhost")."""
    return str(getattr(settings, "HAWIYA_SMS_DOMAIN", "localhost"))


def _text_value(name: str, value: object) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise errors.SmsTemplateError(errors.SMS_TEMPLATE_VALUE_INVALID, f"{name}: naive datetime")
        # Riyadh time with Western digits (UI.md §3): what the holder's clock shows.
        return value.astimezone(RIYADH).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise errors.SmsTemplateError(
            errors.SMS_TEMPLATE_VALUE_INVALID, f"{name}: {type(value).__name__} is not str, int or datetime"
        )
    text = str(value)
    # A line break or bidi control in a value could forge lines (e.g. a second "@domain #code").
    if (
        not text
        or len(text) > MAX_VALUE_LENGTH
        or any(unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} for char in text)
    ):
        raise errors.SmsTemplateError(errors.SMS_TEMPLATE_VALUE_INVALID, f"{name}: empty, too long or unsafe")
    return text


def render(template: str, language: str, context: Mapping[str, object]) -> str:
    """The message text of `template` in `language`, or SmsTemplateError.

    `context` must name exactly the template's placeholders, except the reserved `domain`.
    """
    texts = TEMPLATES.get(template)
    if texts is None:
        raise errors.SmsTemplateError(errors.SMS_TEMPLATE_UNKNOWN, f"unknown template {template!r}")
    if language not in texts:
        raise errors.SmsTemplateError(
            errors.SMS_TEMPLATE_LANGUAGE_UNKNOWN, f"{template}: unknown language {language!r}"
        )
    text = texts[language]
    expected = placeholders(text) - RESERVED_PLACEHOLDERS
    given = set(context)
    if unknown := sorted(given - expected):
        raise errors.SmsTemplateError(
            errors.SMS_TEMPLATE_PLACEHOLDER_UNKNOWN, f"{template}: unexpected placeholders {unknown}"
        )
    if missing := sorted(expected - given):
        raise errors.SmsTemplateError(
            errors.SMS_TEMPLATE_PLACEHOLDER_MISSING, f"{template}: missing placeholders {missing}"
        )
    values = {name: _text_value(name, value) for name, value in context.items()}
    values["domain"] = sms_domain()
    body = text.format_map(values)
    if sms_segments(body) > MAX_SEGMENTS:
        raise errors.SmsTemplateError(errors.SMS_TOO_LONG, f"{template}: longer than {MAX_SEGMENTS} segments")
    return body
