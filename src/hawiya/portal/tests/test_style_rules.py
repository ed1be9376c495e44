"""docs/ui.md §1 and §3 rules that a grep can enforce: tokens only, logical CSS only, vendored font."""

import re
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((PORTAL / "templates").rglob("*.html")) + sorted((PORTAL / "templates").rglob("*.svg"))
STYLESHEET = PORTAL / "static" / "portal" / "hawiya.css"
FONTS = PORTAL / "static" / "portal" / "fonts"

# A hex colour, not an anchor (#main-content) or an entity (&#1234;).
HEX_COLOUR = re.compile(r"(?<![&\w])#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})\b(?![-\w])")
# The same rule as scripts/check-css: a physical left/right anywhere a CSS property could be.
PHYSICAL = re.compile(r"(^|[^-a-z])(left|right)([^-a-z]|$)|(margin|padding|border)-(left|right)")
PHYSICAL_IN_HTML = re.compile(
    r"(margin|padding|border|inset)-(left|right)|(?<![-\w])(left|right)\s*:|"
    r"(text-align|float|clear)\s*:\s*(left|right)"
)


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(PORTAL)))
def test_templates_have_no_hex_colour_and_no_physical_css(template):
    source = template.read_text()
    assert not HEX_COLOUR.findall(source), "use a --hw-* token from hawiya.css"
    assert not PHYSICAL_IN_HTML.search(source), "use logical properties (inline-start/end)"


def test_stylesheet_uses_logical_properties_except_in_dir_overrides():
    hits = [
        line for line in STYLESHEET.read_text().splitlines() if PHYSICAL.search(line) and ":dir(" not in line
    ]
    assert hits == []


def test_stylesheet_defines_the_dga_tokens_and_focus_style():
    css = STYLESHEET.read_text()
    for token in ("--hw-primary: #1B8354", "--hw-flag-dark: #074C30", "--hw-text: #161616"):
        assert token in css
    assert "outline: 3px solid var(--hw-focus)" in css
    assert "outline-offset: 2px" in css
    assert ".ltr" in css
    assert "unicode-bidi: isolate" in css
    assert "bidi-override" not in css


def test_no_letter_spacing_reaches_arabic():
    css = STYLESHEET.read_text()
    for block in re.findall(r"([^{}]+)\{([^{}]*letter-spacing[^{}]*)\}", css):
        assert ":lang(en)" in block[0]


def test_font_is_vendored_with_its_licence():
    expected = {
        f"ibm-plex-sans-arabic-{subset}-{weight}-normal.woff2"
        for subset in ("arabic", "latin")
        for weight in (400, 500, 600, 700)
    }
    assert {path.name for path in FONTS.glob("*.woff2")} == expected
    assert "SIL OPEN FONT LICENSE" in (FONTS / "OFL.txt").read_text()
    css = STYLESHEET.read_text()
    for name in expected:
        assert f'url("fonts/{name}")' in css
    assert css.count("font-display: swap") == len(expected)
    assert css.count("unicode-range:") == len(expected)
