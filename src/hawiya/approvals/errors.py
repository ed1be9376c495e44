"""Stable error codes of app approvals, each with the message the party or the citizen reads (in
the language of the request, Arabic or English). An error that needs an HTTP header says so in
`headers` (the API copies them onto its answer)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError, NotFound, Throttled

APPROVALS_THROTTLED = "approvals_throttled"
APPROVAL_PENDING = "approval_pending"
PERSON_BUSY = "approvals_pending_for_person"
CALLBACK_URL_INVALID = "callback_url_invalid"
NOT_FOUND = "not_found"
NOT_WAITING = "approval_not_waiting"
FORBIDDEN = "approvals_forbidden"


class Conflict(ApplicationError):
    status_code = 409


class Invalid(ApplicationError):
    status_code = 422


def forbidden() -> ApplicationError:
    return ApplicationError(FORBIDDEN, _("Only a relying party allowed app approvals may ask for one."))


def throttled(retry_after: int) -> Throttled:
    return Throttled(
        APPROVALS_THROTTLED,
        _("Too many approval requests. Try again after the time in Retry-After."),
        retry_after=retry_after,
    )


def polled_too_often(retry_after: int) -> Throttled:
    return Throttled(
        APPROVALS_THROTTLED,
        _("This approval request was asked about too often. Try again after the time in Retry-After."),
        retry_after=retry_after,
    )


def approval_pending() -> Conflict:
    return Conflict(
        APPROVAL_PENDING,
        _(
            "An approval request of yours for this person is still waiting. Wait for its answer "
            "(or its expiry) before sending another."
        ),
    )


def person_busy() -> Conflict:
    return Conflict(
        PERSON_BUSY,
        _("Too many approval requests are waiting for this person. Try again in a few minutes."),
    )


def callback_url_invalid() -> Invalid:
    return Invalid(
        CALLBACK_URL_INVALID,
        _(
            "The callback URL must be an https URL without user name or password, on the host of "
            "one of your registered redirect URIs."
        ),
        field="callback_url",
    )


def not_found() -> NotFound:
    return NotFound(NOT_FOUND, _("No such approval request."))


def not_waiting() -> Conflict:
    return Conflict(NOT_WAITING, _("This approval request has already ended."))
