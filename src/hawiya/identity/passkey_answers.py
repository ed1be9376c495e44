"""The JSON answers the passkey pages give passkeys.js, the same for citizens (portal) and staff
(backoffice): the options for the browser's ceremony, or a refusal it shows in the page."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from hawiya.core.errors import ApplicationError

from . import errors as identity_errors
from .services.passkeys import PasskeyOptions


def passkey_json(payload: dict[str, Any], status: int = 200) -> HttpResponse:
    """A small JSON answer for passkeys.js, never cached."""
    response = HttpResponse(json.dumps(payload), content_type="application/json", status=status)
    response["Cache-Control"] = "no-store"
    return response


def passkey_options_json(options: PasskeyOptions) -> HttpResponse:
    """The options for navigator.credentials.create() or .get(), under the key passkeys.js reads."""
    return passkey_json({"publicKey": json.loads(options.options_json)})


def passkey_json_error(error: ApplicationError) -> HttpResponse:
    """A refusal: 429 when this address has started too many ceremonies, else 400; the code and
    the message in the page's language."""
    status = 429 if error.code == identity_errors.IP_THROTTLED else 400
    return passkey_json({"error": error.code, "message": str(error.message)}, status)
