"""The 13 administrative regions of the Kingdom and the first digit of their postal codes.

Source: shared/research/mission.md §1.7 (postal code's first digit = region group).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.TextChoices):
    RIYADH = "riyadh", _("Riyadh")
    MAKKAH = "makkah", _("Makkah")
    MADINAH = "madinah", _("Madinah")
    QASSIM = "qassim", _("Qassim")
    EASTERN = "eastern", _("Eastern Province")
    ASIR = "asir", _("Asir")
    TABUK = "tabuk", _("Tabuk")
    HAIL = "hail", _("Hail")
    NORTHERN_BORDERS = "northern_borders", _("Northern Borders")
    JAZAN = "jazan", _("Jazan")
    NAJRAN = "najran", _("Najran")
    BAHAH = "bahah", _("Al Bahah")
    JAWF = "jawf", _("Al Jawf")


@dataclass(frozen=True)
class RegionFacts:
    postal_digit: str


REGION_FACTS: dict[str, RegionFacts] = {
    Region.RIYADH: RegionFacts("1"),
    Region.MAKKAH: RegionFacts("2"),
    Region.EASTERN: RegionFacts("3"),
    Region.MADINAH: RegionFacts("4"),
    Region.TABUK: RegionFacts("4"),
    Region.QASSIM: RegionFacts("5"),
    Region.HAIL: RegionFacts("5"),
    Region.ASIR: RegionFacts("6"),
    Region.NAJRAN: RegionFacts("6"),
    Region.BAHAH: RegionFacts("6"),
    Region.NORTHERN_BORDERS: RegionFacts("7"),
    Region.JAWF: RegionFacts("7"),
    Region.JAZAN: RegionFacts("8"),
}


def postal_digit_for(region: str) -> str:
    """The first digit every postal code of this region starts with."""
    return REGION_FACTS[region].postal_digit
