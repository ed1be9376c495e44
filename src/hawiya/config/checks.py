"""Platform-wide system checks.

They run with every management command, and wsgi.py runs them when the web server starts, so a
misconfigured process refuses to start instead of serving.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}


def _is_local(host: str) -> bool:
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@register(Tags.security)
def demo_mode_only_on_local_hosts(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Demo mode shows one-time codes on a page and takes fake payments: never on a public host."""
    if not settings.DEMO:
        return []
    public = [host for host in settings.ALLOWED_HOSTS if not _is_local(host)]
    if not public:
        return []
    return [
        Error(
            "Demo mode (HAWIYA_DEMO=1) is on while ALLOWED_HOSTS names non-local hosts: " + ", ".join(public),
            hint="Turn demo mode off for any host reachable from outside this machine.",
            id="hawiya.E001",
        )
    ]


@register()
def pdf_renderer_available(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """WeasyPrint needs Pango from the system; say which package before a receipt fails."""
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        return [
            Error(
                f"WeasyPrint cannot load Pango: {exc}",
                hint="apt-get install libpango-1.0-0 libpangoft2-1.0-0",
                id="hawiya.E002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def demo_fingerprint_scanner_only_in_demo_mode(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """The demo scanner makes the template from the person the page names, so at the counter it
    "matches" anyone: re-binding a mobile number would then hand over the person's account."""
    if str(getattr(settings, "HAWIYA_FINGERPRINT_SCANNER", "") or "demo") == "demo" and not settings.DEMO:
        return [
            Error(
                "The demo fingerprint scanner is selected outside demo mode: every fingerprint check "
                "at the counter would pass.",
                hint="Set HAWIYA_FINGERPRINT_SCANNER=http and HAWIYA_FINGERPRINT_SCANNER_URL.",
                id="hawiya.E003",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def oidc_issuer_is_public_https(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The issuer is in every ID token and parties check it: outside demo mode it must be the
    public https address of the site (HAWIYA_OIDC_ISSUER), not the local default."""
    if settings.DEMO:
        return []
    issuer = urlsplit(str(settings.HAWIYA_OIDC_ISSUER))
    if issuer.scheme == "https" and issuer.hostname and not _is_local(issuer.hostname):
        return []
    return [
        Error(
            f"HAWIYA_OIDC_ISSUER is {settings.HAWIYA_OIDC_ISSUER!r}: relying parties need the site's "
            "public https address.",
            hint="Set HAWIYA_OIDC_ISSUER to the base URL parties reach Hawiya at, e.g. https://hawiya.example.sa.",
            id="hawiya.E004",
        )
    ]
