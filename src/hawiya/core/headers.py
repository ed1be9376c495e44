"""The `Permissions-Policy` header: which powerful browser features a page may use.

Every response denies them all (no page of Hawiya needs a camera, a microphone, the location or
the Payment Request API: payment happens on the gateway's own pages). One page is the exception:
the officer's biometrics page takes the applicant's photo with the workstation camera, so its
view is decorated with `allow_features("camera")`, which allows the camera for this origin only
(`camera=(self)`), still never for a frame of another origin.

Only features Chromium recognises are named: an unknown one is reported in the console on every
page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponseBase

HEADER = "Permissions-Policy"

# Denied everywhere unless a view allows one for its own page.
FEATURES = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)

_ALLOWED_ATTRIBUTE = "_hawiya_allowed_features"
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def permissions_policy(allowed: frozenset[str] = frozenset()) -> str:
    """`camera=(), geolocation=(), …`: every feature denied, those in `allowed` for this origin."""
    unknown = allowed - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown browser features: {sorted(unknown)}")
    return ", ".join(f"{feature}=(self)" if feature in allowed else f"{feature}=()" for feature in FEATURES)


def allow_features(*features: str) -> Callable[[View], View]:
    """Allow these features (for our own origin only) on the pages of the decorated view."""
    allowed = frozenset(features)
    permissions_policy(allowed)  # an unknown name fails at import, not on a request

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            setattr(response, _ALLOWED_ATTRIBUTE, allowed)
            return response

        return cast(View, wrapped)

    return decorator


def permissions_policy_middleware(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], HttpResponseBase]:
    """Put the `Permissions-Policy` header on every response (pages, files, the API, errors)."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        allowed: frozenset[str] = getattr(response, _ALLOWED_ATTRIBUTE, frozenset())
        response[HEADER] = permissions_policy(allowed)
        return response

    return middleware
