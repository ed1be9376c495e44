"""Text-message templates, as code: every message exists in Arabic and English.

Templates are plain `str.format` strings with named placeholders. `render` refuses an unknown
template or language, a missing or unexpected placeholder, a value that could break the message's
layout (line breaks, control characters), and a message longer than three SMS segments.

`one_time_code` says what the code is for (`purpose`, one of `CODE_PURPOSES`) and ends with the
domain-bound one-time-code line (`@hawiya.example #123456`, the format of the WICG "origin-bound
one-time codes" proposal that iOS, Android and Chrome's WebOTP read): phones offer to autofill
the code only on that domain, which blunts phishing pages. That line is written exactly as the
proposal says, with no bidi mark.

Values are written for the message's language:
- an aware datetime is Riyadh time in both calendars (`core.calendars.format_dual_moment`),
  or "2026-03-01 10:00" when both calendars would take the message past three segments;
- a `{"ar": ..., "en": ...}` mapping (see `bilingual`) is the text in the message's language, so
  an office name reads in English in the English notification centre even when the Arabic text
  message was sent;
- every value is isolated (`core.text.isolate_in`: LRI/FSI…PDI), so a reference, a masked number
  or a date cannot be reordered by the words around it, in Arabic, and an Arabic name cannot
  reorder an English sentence.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import string
import unicodedata
from collections.abc import Callable, Mapping

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise

from hawiya.core.calendars import format_dual_moment
from hawiya.core.clock import RIYADH
from hawiya.core.text import isolate_in

from . import errors

# The domain is filled in by `render` from settings, never by the caller: a caller must not be
# able to bind a code to another site.
RESERVED_PLACEHOLDERS = frozenset({"domain"})

# The last line of a one-time-code message, read by phones to offer autofill on our domain only.
ORIGIN_BOUND_LINE = "@{domain} #{code}"
ORIGIN_BOUND_CODE = re.compile(r"^@\S+ #([0-9]{6})$", re.MULTILINE)


def origin_bound_code(body: str) -> str | None:
    """The code a phone would offer to fill in from a message's last line, if it has one (the
    demo's and the benchmarks' "phone")."""
    found = ORIGIN_BOUND_CODE.findall(body)
    return found[-1] if found else None


# Placeholders whose value is a key, written as the template's own words in each language.
CODE_PURPOSES: dict[str, dict[str, str]] = {
    "activation": {"ar": "تفعيل حسابك", "en": "activate your account"},
    "sign_in": {"ar": "تسجيل الدخول", "en": "sign in"},
    "password_reset": {"ar": "إعادة تعيين كلمة المرور", "en": "reset your password"},
    "reauthentication": {"ar": "تأكيد هويتك", "en": "confirm it is you"},
    "mobile_change_old": {"ar": "تغيير رقم جوالك", "en": "change your mobile number"},
    "mobile_change_new": {"ar": "تغيير رقم جوالك", "en": "change your mobile number"},
}
CHOICE_PLACEHOLDERS: dict[str, dict[str, dict[str, str]]] = {"purpose": CODE_PURPOSES}

TEMPLATES: dict[str, dict[str, str]] = {
    # {purpose} is a key of CODE_PURPOSES: the person reads what the code is for.
    "one_time_code": {
        "ar": "هوية: رمز {purpose}: {code}\nصالح لمدة 5 دقائق. لا تشاركه مع أحد.\n\n" + ORIGIN_BOUND_LINE,
        "en": "Hawiya code to {purpose}: {code}\nValid for 5 minutes. Do not share it with anyone.\n\n"
        + ORIGIN_BOUND_LINE,
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
    # A passkey answered with a counter lower than before (identity/services/passkeys.py).
    "passkey_counter": {
        "ar": "هوية: رُفض الدخول بمفتاح المرور «{name}» لأنه ربما نُسخ. "
        "إن لم تكن أنت فاحذفه من طرق الدخول في حسابك وغيّر كلمة المرور.",
        "en": 'Hawiya: a sign-in with your passkey "{name}" was refused because it may have been copied. '
        "If this was not you, remove it from your sign-in methods and change your password.",
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
    # To the holder, when a bank or agency checked a document they reported lost (document_checks).
    "lost_document_checked": {
        "ar": "هوية: تحقّق {party} في {time} من وثيقتك {document} المنتهية بـ {last_digits} "
        "المبلّغ عن فقدانها. إن لم تكن أنت فأبلغ عن إساءة الاستخدام من حسابك.",
        "en": "Hawiya: {party} checked your {document} ending in {last_digits}, reported lost, on {time}. "
        "If this was not you, report misuse in your account.",
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
    # The same, for a request with nothing to pay (it goes ahead at once): no word of paying.
    "replacement_submitted_no_fee": {
        "ar": "هوية: استلمنا طلب بدل الفاقد رقم {reference}، ولا رسوم عليه. "
        "تابع الخطوة التالية في صفحة متابعة الطلبات.",
        "en": "Hawiya: replacement request {reference} is registered. There is nothing to pay; "
        "see the next step in Track my requests.",
    },
    # Appointments (appointments/services/): {time} is an aware datetime, shown in Riyadh time;
    # {office} is the office's name in the person's language.
    "appointment_booked": {
        "ar": "هوية: حُجز موعدك {appointment} للطلب {reference} في {office}، {time}. "
        "أحضر نموذج 58 وصورًا شخصية 4×6 وتذكرة الموعد.",
        "en": "Hawiya: appointment {appointment} for request {reference} is booked at {office}, {time}. "
        "Bring Form 58, 4x6 personal photos and your appointment ticket.",
    },
    "appointment_moved": {
        "ar": "هوية: نُقل موعدك {appointment} للطلب {reference} إلى {time} في {office}.",
        "en": "Hawiya: appointment {appointment} for request {reference} is moved to {time} at {office}.",
    },
    "appointment_cancelled": {
        "ar": "هوية: أُلغي موعدك {appointment} للطلب {reference} في {office}، {time}. يمكنك حجز موعد آخر.",
        "en": "Hawiya: appointment {appointment} for request {reference} at {office}, {time}, is cancelled. "
        "You can book another.",
    },
    "appointment_reminder": {
        "ar": "هوية: تذكير بموعدك {appointment} غدًا {time} في {office}. "
        "أحضر نموذج 58 وصورًا شخصية 4×6 وتذكرة الموعد.",
        "en": "Hawiya: reminder, appointment {appointment} is tomorrow, {time}, at {office}. "
        "Bring Form 58, 4x6 personal photos and your appointment ticket.",
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
    # casework/backoffice.py: each step of a request at the office; {office} is the office's name in
    # the person's language, {time} an aware datetime. One rejection template per reason, so the
    # notification centre shows the reason in whichever language the person reads.
    "replacement_checked_in": {
        "ar": "هوية: سُجّل حضورك للطلب {reference}. انتظر المناداة لأخذ البصمات والصورة.",
        "en": "Hawiya: you are checked in for request {reference}. Wait to be called for fingerprints "
        "and a photo.",
    },
    # ID cards only ({days}: replacements.requirements.ID_CARD_READY_DAYS); other kinds are told
    # "replacement_checked_in_document" and "replacement_identity_confirmed" instead.
    "replacement_biometrics_captured": {
        "ar": "هوية: أُخذت بصماتك وصورتك للطلب {reference}. تستلم البطاقة الجديدة بعد {days} يومًا، "
        "وسنخبرك حين تصبح جاهزة.",
        "en": "Hawiya: your fingerprints and photo for request {reference} are taken. You receive the "
        "new card {days} days later; we will tell you when it is ready.",
    },
    "replacement_checked_in_document": {
        "ar": "هوية: سُجّل حضورك للطلب {reference}. انتظر المناداة للتحقق من هويتك.",
        "en": "Hawiya: you are checked in for request {reference}. Wait to be called to confirm your "
        "identity.",
    },
    "replacement_identity_confirmed": {
        "ar": "هوية: تحققنا من هويتك للطلب {reference}. سنخبرك عند اعتماد الطلب.",
        "en": "Hawiya: your identity for request {reference} is confirmed. "
        "We will tell you when the request is approved.",
    },
    "replacement_approved": {
        "ar": "هوية: اعتُمد الطلب {reference} وصدرت وثيقتك الجديدة. سنخبرك بالخطوة التالية.",
        "en": "Hawiya: request {reference} is approved and your new document is issued. "
        "We will text you at the next step.",
    },
    "replacement_rejected_photo": {
        "ar": "هوية: رُفض الطلب {reference} لأن الصورة لا تطابق الشروط. قدّم طلبًا جديدًا بصورة حديثة "
        "بخلفية بيضاء أو اختر الاستلام من المكتب. تُعاد أي غرامة دفعتها.",
        "en": "Hawiya: request {reference} is rejected: the photo does not meet the rules. Apply again with "
        "a recent photo on a plain white background, or collect at an office. Any fine paid is refunded.",
    },
    "replacement_rejected_identity": {
        "ar": "هوية: رُفض الطلب {reference} لتعذّر التحقق من هويتك. راجع أحد مكاتب الأحوال المدنية "
        "بوثيقة رسمية أخرى كجواز السفر. تُعاد أي غرامة دفعتها.",
        "en": "Hawiya: request {reference} is rejected: your identity could not be confirmed. Visit a "
        "civil-affairs office with another official document, like a passport. Any fine paid is refunded.",
    },
    "replacement_rejected_documents": {
        "ar": "هوية: رُفض الطلب {reference} لنقص المستندات المطلوبة. اطّلع عليها في صفحة الطلب ثم قدّم "
        "طلبًا جديدًا. تُعاد أي غرامة دفعتها.",
        "en": "Hawiya: request {reference} is rejected: required documents are missing. See them on the "
        "request page, then apply again. Any fine paid is refunded.",
    },
    "replacement_rejected_other": {
        "ar": "هوية: رُفض الطلب {reference}. السبب وما يلزمك فعله في صفحة الطلب. تُعاد أي غرامة دفعتها.",
        "en": "Hawiya: request {reference} is rejected. The reason and what to do next are on the request "
        "page. Any fine paid is refunded.",
    },
    "replacement_printed": {
        "ar": "هوية: طُبعت وثيقتك الجديدة للطلب {reference}. سنخبرك بالخطوة التالية.",
        "en": "Hawiya: your new document for request {reference} is printed. "
        "We will text you at the next step.",
    },
    "replacement_ready_for_collection": {
        "ar": "هوية: وثيقتك الجديدة للطلب {reference} جاهزة للاستلام من {office}. أحضر رمز التسليم الذي "
        "أرسلناه لك في رسالة أخرى.",
        "en": "Hawiya: your new document for request {reference} is ready to collect at {office}. "
        "Bring the handover code we sent you in another message.",
    },
    "replacement_collected": {
        "ar": "هوية: سُلّمت وثيقتك الجديدة للطلب {reference} في {time}. إن لم تستلمها فتواصل معنا فورًا.",
        "en": "Hawiya: your new document for request {reference} was handed over at {time}. "
        "If you did not receive it, contact us at once.",
    },
    "appointment_no_show": {
        "ar": "هوية: لم تحضر موعدك {appointment} للطلب {reference} في {office}، {time}. "
        "احجز غيره من صفحة الطلب.",
        "en": "Hawiya: you did not attend appointment {appointment} for request {reference} at {office}, "
        "{time}. Book another from the request page.",
    },
    # identity/counter.py: the mobile number on record changed at a civil-affairs office.
    "mobile_rebound_new": {
        "ar": "هوية: أصبح هذا الرقم رقم الجوال المسجّل لهويتك، بعد التحقق منك في مكتب الأحوال المدنية.",
        "en": "Hawiya: this is now the mobile number on record for your ID, changed after a check "
        "at a civil-affairs office.",
    },
    "mobile_rebound_old": {
        "ar": "هوية: غُيّر رقم الجوال المسجّل لهويتك في مكتب الأحوال المدنية إلى الرقم المنتهي بـ "
        "{last_digits}. إن لم تكن أنت فراجع أحد المكاتب ببطاقة هويتك فورًا.",
        "en": "Hawiya: the mobile number on record for your ID was changed at a civil-affairs office to "
        "the number ending in {last_digits}. If this was not you, visit an office with your ID card at once.",
    },
    # --- delivery: the courier ---
    # Handover codes (replacements/handover.py): secret templates; {expires_at} an aware datetime.
    "handover_code_collection": {
        "ar": "هوية: رمز تسليم وثيقتك للطلب {reference}: {code}\nأعطه لموظف المكتب عند الاستلام فقط. "
        "صالح حتى {expires_at}.",
        "en": "Hawiya: handover code for request {reference}: {code}\nGive it only to the officer at the "
        "counter when you collect your document. Valid until {expires_at}.",
    },
    "handover_code_delivery": {
        "ar": "هوية: وثيقتك للطلب {reference} في الطريق إليك. سيطلب منك المندوب هذا الرمز: {code}\n"
        "أعطه له فقط عند استلام الوثيقة. صالح حتى {expires_at}.",
        "en": "Hawiya: your document for request {reference} is out for delivery. The courier will ask "
        "for this code: {code}\nGive it only when you receive the document. Valid until {expires_at}.",
    },
    # Shipments (delivery/services.py): {reason} and {office} are in the person's language.
    "shipment_dispatched": {
        "ar": "هوية: وثيقتك الجديدة للطلب {reference} مع شركة التوصيل. سنرسل لك رمز التسليم يوم التوصيل.",
        "en": "Hawiya: your new document for request {reference} is with the courier. "
        "We will text you a handover code on the delivery day.",
    },
    "shipment_out_for_delivery": {
        "ar": "هوية: وثيقتك للطلب {reference} في الطريق إليك اليوم. أرسلنا رمز التسليم في رسالة نصية.",
        "en": "Hawiya: your document for request {reference} is out for delivery today. "
        "We sent the handover code by text message.",
    },
    "shipment_delivered": {
        "ar": "هوية: سُلّمت وثيقتك للطلب {reference}. إن لم تستلمها فتواصل معنا فورًا.",
        "en": "Hawiya: your document for request {reference} was delivered. "
        "If you did not receive it, contact us at once.",
    },
    "shipment_failed_attempt": {
        "ar": "هوية: تعذّر توصيل وثيقتك للطلب {reference}: {reason}. سيحاول المندوب مرة أخرى.",
        "en": "Hawiya: the courier could not deliver your document for request {reference}: {reason}. "
        "They will try again.",
    },
    "shipment_returned": {
        "ar": "هوية: تعذّر توصيل وثيقتك للطلب {reference} بعد محاولتين، فأُعيدت إلى {office}. "
        "سنرسل لك رمز الاستلام حين تصبح جاهزة للاستلام.",
        "en": "Hawiya: your document for request {reference} could not be delivered after two attempts and "
        "is back at {office}. We will text you a code when it is ready to collect.",
    },
    # --- counter identity services ---
    # --- supervisor: office holidays (appointments/services/schedule.py) ---
    "appointment_cancelled_by_office": {
        "ar": "هوية: أُلغي موعدك {appointment} للطلب {reference}، {time}، لإغلاق {office}. "
        "احجز غيره من صفحة الطلب.",
        "en": "Hawiya: {office} is closed on the day of appointment {appointment} for request "
        "{reference}, {time}, so it is cancelled. Book another from the request page.",
    },
}

# Bodies of these templates carry a secret: hidden in the admin and logs whatever the caller says.
SECRET_TEMPLATES = frozenset({"handover_code_collection", "handover_code_delivery", "one_time_code"})

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


def bilingual(text: str | Promise | Callable[[str], str]) -> dict[str, str]:
    """A context value that reads in whichever language the message is rendered in.

    `text` is a translatable string (rendered in Arabic and in English), or a function of the
    language ("ar"/"en") returning the text, e.g. `lambda lang: office.name_ar if lang == "ar"
    else office.name_en`. The notification centre keeps both and shows the reader's.
    """
    texts = {}
    for language in LANGUAGES:
        if callable(text) and not isinstance(text, Promise):
            texts[language] = text(language)
        else:
            with translation.override(language):
                texts[language] = str(text)
    return {language: value[:MAX_VALUE_LENGTH] for language, value in texts.items()}


def _text_value(name: str, value: object, language: str) -> str:
    """`value` written for a message in `language` (not yet isolated), or SmsTemplateError."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise errors.SmsTemplateError(errors.SMS_TEMPLATE_VALUE_INVALID, f"{name}: naive datetime")
        # Riyadh time, both calendars, Western digits (docs/ui.md §3): what the holder's clock shows.
        return format_dual_moment(value, language=language)
    if name in CHOICE_PLACEHOLDERS:
        choice = CHOICE_PLACEHOLDERS[name].get(value) if isinstance(value, str) else None
        if choice is None:
            raise errors.SmsTemplateError(errors.SMS_TEMPLATE_VALUE_INVALID, f"{name}: not a known choice")
        return choice[language]
    if isinstance(value, Mapping) and set(value) == set(LANGUAGES):
        # Both languages are checked: the notification centre may show either.
        texts = {lang: _text_value(name, value[lang], lang) for lang in LANGUAGES}
        return texts[language]
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
    body = _fill(text, language, context, compact_dates=False)
    if sms_segments(body) > MAX_SEGMENTS and any(
        isinstance(value, dt.datetime) for value in context.values()
    ):
        # A long office name and a long date together: keep the message (a booking must not fail
        # for its text) with the date in its short form, "2026-03-01 10:00" (Riyadh time).
        body = _fill(text, language, context, compact_dates=True)
    if sms_segments(body) > MAX_SEGMENTS:
        raise errors.SmsTemplateError(errors.SMS_TOO_LONG, f"{template}: longer than {MAX_SEGMENTS} segments")
    return body


def _fill(text: str, language: str, context: Mapping[str, object], *, compact_dates: bool) -> str:
    raw = {
        name: value.astimezone(RIYADH).strftime("%Y-%m-%d %H:%M")
        if compact_dates and isinstance(value, dt.datetime) and value.tzinfo is not None
        else _text_value(name, value, language)
        for name, value in context.items()
    }
    # Words chosen by key are the template's own text; every other value is isolated.
    isolated = {
        name: value if name in CHOICE_PLACEHOLDERS else isolate_in(value, language)
        for name, value in raw.items()
    }
    domain = sms_domain()
    if text.endswith(ORIGIN_BOUND_LINE):
        head = text[: -len(ORIGIN_BOUND_LINE)]
        return head.format_map({**isolated, "domain": domain}) + ORIGIN_BOUND_LINE.format_map(
            {**raw, "domain": domain}
        )
    return text.format_map({**isolated, "domain": domain})
