"""ApplicationError: what a service raises when a rule says no.

Every error carries a stable `code` (for APIs and tests) and a translatable `message` (for the
person). Interface apps turn it into a form error, a page or an HTTP answer; it never becomes a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.http import HttpResponseBase

R = TypeVar("R", bound="HttpResponseBase")


class ApplicationError(Exception):
    """A rule of the domain refused the action."""

    status_code = 400

    def __init__(self, code: str, message: str | Promise, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def __str__(self) -> str:
        return str(self.message)


class NotFound(ApplicationError):
    """Missing, or not the asker's: the two are answered alike so existence never leaks."""

    status_code = 404


class Throttled(ApplicationError):
    """Too many requests this window: 429, with `retry_after` seconds until it ends (the API copies
    `headers` onto its answer)."""

    status_code = 429

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.extra.get("retry_after", 60)))}


class ServiceBusy(Exception):
    """Hawiya itself is at its limit for this kind of work (not the asker's fault): 503, with
    `retry_after` seconds to wait.

    Not an ApplicationError: a view that shows a refusal on its form (`except ApplicationError`)
    lets this one through to portal.middleware.ServiceBusyMiddleware (the "try again in a moment"
    page, or the API's JSON error), and a view that wants its form back (the sign-in) catches it
    by name. Same `code`, `message` and `headers` as an ApplicationError, so it is answered alike."""

    status_code = 503

    def __init__(self, code: str, message: str | Promise, *, retry_after: int = 60) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return str(self.message)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(int(self.retry_after))}

    def answer(self, response: R) -> R:
        """`response` (the page or JSON that tells of this refusal) made the 503 it is: its status
        and Retry-After. One place for every view that shows its own page and for the middleware."""
        response.status_code = self.status_code
        for name, value in self.headers.items():
            response[name] = value
        return response
