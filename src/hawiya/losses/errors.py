"""Stable error codes of loss reports.

Services raise `ApplicationError(code, message)` (or `NotFound`) with one of these codes; pages
and APIs match on the code, never on the message, which is translated.
"""

from __future__ import annotations

from typing import Final

LOSS_REPORT_NOT_FOUND: Final = "loss_report_not_found"
# A document the reporter may not report (someone else's, or unknown): answered as not found.
LOSS_DOCUMENT_NOT_FOUND: Final = "loss_document_not_found"
LOSS_DOCUMENT_NOT_VALID: Final = "loss_document_not_valid"
LOSS_NO_DOCUMENTS: Final = "loss_no_documents"
LOSS_DATE_IN_FUTURE: Final = "loss_date_in_future"
LOSS_DATE_BEFORE_ISSUE: Final = "loss_date_before_issue"
LOSS_PLACE_INVALID: Final = "loss_place_invalid"
LOSS_CITY_REQUIRED: Final = "loss_city_required"
LOSS_COUNTRY_REQUIRED: Final = "loss_country_required"
LOSS_PLACE_TOO_LONG: Final = "loss_place_too_long"
LOSS_CIRCUMSTANCES_TOO_SHORT: Final = "loss_circumstances_too_short"
LOSS_CIRCUMSTANCES_TOO_LONG: Final = "loss_circumstances_too_long"
LOSS_DECLARATION_REQUIRED: Final = "loss_declaration_required"
