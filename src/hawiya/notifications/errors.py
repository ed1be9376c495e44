"""Stable error codes of the notifications app.

Template and recipient errors are mistakes in the calling code, not in what a person typed, but
they are still ApplicationErrors so a page shows a clear message instead of a 500 and the code
is stable for tests and logs.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError

SMS_RECIPIENT_INVALID = "sms_recipient_invalid"
SMS_TEMPLATE_UNKNOWN = "sms_template_unknown"
SMS_TEMPLATE_LANGUAGE_UNKNOWN = "sms_template_language_unknown"
SMS_TEMPLATE_PLACEHOLDER_MISSING = "sms_template_placeholder_missing"
SMS_TEMPLATE_PLACEHOLDER_UNKNOWN = "sms_template_placeholder_unknown"
SMS_TEMPLATE_VALUE_INVALID = "sms_template_value_invalid"
SMS_TOO_LONG = "sms_too_long"
SMS_SUBJECT_REF_INVALID = "sms_subject_ref_invalid"
SMS_NOT_FOUND = "sms_not_found"
SMS_RECEIPT_MISMATCH = "sms_receipt_mismatch"
SMS_REPORT_SIGNATURE_INVALID = "sms_report_signature_invalid"
SMS_REPORT_MALFORMED = "sms_report_malformed"
SMS_REPORT_THROTTLED = "sms_report_throttled"


class SmsTemplateError(ApplicationError):
    """A message could not be rendered: unknown template or language, wrong placeholders, too long."""

    def __init__(self, code: str, detail: str) -> None:
        # `detail` names the template and placeholder for the developer; it never carries values,
        # which may be one-time codes.
        super().__init__(code, _("The text message could not be prepared."), detail=detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class SmsRecipientInvalid(ApplicationError):
    """The recipient is not an E.164 number; callers normalise numbers before sending."""

    def __init__(self) -> None:
        super().__init__(
            SMS_RECIPIENT_INVALID,
            _("The mobile number on record cannot receive text messages."),
            field="to",
        )
