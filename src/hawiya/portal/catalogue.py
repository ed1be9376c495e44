"""The services offered on the portal's home page, each with its start page (docs/ui.md §2).

Each start page explains the service (what you need, how long it takes, the other ways to get it);
its "Start now" leads into the journey, behind sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class PortalService:
    slug: str
    title: Promise
    summary: Promise

    @property
    def template(self) -> str:
        return f"portal/services/{self.slug}.html"

    @property
    def icon_template(self) -> str:
        return f"portal/icons/{self.slug}.svg"


SERVICES: tuple[PortalService, ...] = (
    PortalService(
        slug="report-lost-document",
        title=_("Report a lost document"),
        summary=_("Report a lost national ID card so that it is cancelled at once and nobody can misuse it."),
    ),
    PortalService(
        slug="request-replacement",
        title=_("Request a replacement"),
        summary=_(
            "Apply for a new national ID card after a loss, delivered to you or collected from an office."
        ),
    ),
    PortalService(
        slug="appointments",
        title=_("Appointments"),
        summary=_("Book, change or cancel an appointment at a civil affairs office."),
    ),
    PortalService(
        slug="track-requests",
        title=_("Track my requests"),
        summary=_("See where your reports, requests, payments and deliveries have reached."),
    ),
)

_BY_SLUG = {service.slug: service for service in SERVICES}


def service_by_slug(slug: str) -> PortalService | None:
    return _BY_SLUG.get(slug)
