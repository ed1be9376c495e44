"""Who is asking: the client's IP address and browser, as the throttles and the activity history
need them.

Behind a load balancer, REMOTE_ADDR is the balancer's address, and per-IP limits would then
throttle everyone at once. With HAWIYA_TRUSTED_PROXIES = N (the number of proxies that append to
X-Forwarded-For in front of Hawiya), the client is the N-th address from the right of that
header: entries further left were written by the client and cannot be trusted.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def client_ip(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = int(getattr(settings, "HAWIYA_TRUSTED_PROXIES", 0))
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < proxies:
        return remote
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def client_user_agent(request: HttpRequest) -> str:
    """The browser's description, without control characters (PostgreSQL refuses NUL in text)."""
    value = str(request.META.get("HTTP_USER_AGENT") or "")
    return "".join(char for char in value if char.isprintable())


def local_url(request: HttpRequest, value: object, *, under: str = "") -> str | None:
    """`value` when it is a path of this site (never another host or scheme, nor `//host`) and,
    with `under`, contains that segment (e.g. "/staff/"); else None. For `next` parameters."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return None
    if under and under not in value:
        return None
    if url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return value
    return None
