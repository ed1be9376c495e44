"""The DGA accessibility tools: text size and contrast, chosen in the footer of every page.

The choice is kept in one first-party cookie, written only when a person uses the tools (and
deleted when they go back to the defaults), and applied on the server as classes on `<html>`:
no JavaScript is needed to choose or to see it. The cookie's value is parsed against fixed
lists, never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

COOKIE_NAME = "hawiya_display"
COOKIE_AGE = 365 * 24 * 3600
TEXT_SIZES = ("normal", "large", "larger")
CONTRASTS = ("normal", "high")


@dataclass(frozen=True)
class Display:
    text_size: str = "normal"
    contrast: str = "normal"

    @property
    def is_default(self) -> bool:
        return self == Display()

    @property
    def classes(self) -> str:
        """The classes of `<html>` ("" for the defaults)."""
        names = []
        if self.text_size != "normal":
            names.append(f"hw-text-{self.text_size}")
        if self.contrast != "normal":
            names.append(f"hw-contrast-{self.contrast}")
        return " ".join(names)

    @property
    def cookie_value(self) -> str:
        return f"{self.text_size}.{self.contrast}"

    def changed(self, *, text_size: object = None, contrast: object = None) -> Display:
        """This choice with what was asked for; anything not on the lists is ignored."""
        result = self
        if isinstance(text_size, str) and text_size in TEXT_SIZES:
            result = replace(result, text_size=text_size)
        if isinstance(contrast, str) and contrast in CONTRASTS:
            result = replace(result, contrast=contrast)
        return result


def display_from_cookie(value: object) -> Display:
    """The choice a cookie holds; the defaults for a missing or unknown value."""
    if not isinstance(value, str) or value.count(".") != 1:
        return Display()
    text_size, contrast = value.split(".")
    return Display().changed(text_size=text_size, contrast=contrast)
