"""Logging filters.

Django's `django.request` logger records a refused request (PermissionDenied → 403, BadRequest →
400) as a warning *with the exception's traceback*: every ordinary "you may not see this" filled
the log with a stack trace that looks like a failure. `ClientErrorsWithoutTraceback` keeps the
warning (method, path, status) and drops the traceback of those client errors only; a 5xx keeps
its traceback.
"""

from __future__ import annotations

import logging

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation

CLIENT_ERRORS = (PermissionDenied, BadRequest, SuspiciousOperation)


class ClientErrorsWithoutTraceback(logging.Filter):
    """Strip the traceback from a record whose exception is a client error (403/400)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if exc_info and isinstance(exc_info[1], CLIENT_ERRORS):
            record.exc_info = None
            record.exc_text = None
        return True
