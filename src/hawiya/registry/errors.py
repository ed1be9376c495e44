"""Stable error codes of the civil register.

Services raise `hawiya.core.errors.ApplicationError(code, message)` with one of these codes;
pages and APIs match on the code (never on the message, which is translated).
"""

from __future__ import annotations

from typing import Final

# Persons
PERSON_NOT_FOUND: Final = "person_not_found"
PERSON_ALREADY_REGISTERED: Final = "person_already_registered"
PERSON_INVALID: Final = "person_invalid"
ID_NUMBER_INVALID: Final = "id_number_invalid"
SEARCH_QUERY_INVALID: Final = "search_query_invalid"
SEARCH_TOO_BROAD: Final = "search_too_broad"

# National addresses
NATIONAL_ADDRESS_INVALID: Final = "national_address_invalid"

# Documents
DOCUMENT_NOT_FOUND: Final = "document_not_found"
DOCUMENT_INVALID: Final = "document_invalid"
DOCUMENT_ALREADY_ISSUED: Final = "document_already_issued"
DOCUMENT_NOT_VALID: Final = "document_not_valid"
DOCUMENT_STILL_VALID: Final = "document_still_valid"
DOCUMENT_ALREADY_REPLACED: Final = "document_already_replaced"
DOCUMENT_NOT_REISSUABLE: Final = "document_not_reissuable"
HOLDER_DECEASED: Final = "holder_deceased"
SERIAL_NUMBER_UNAVAILABLE: Final = "serial_number_unavailable"
