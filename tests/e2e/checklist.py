"""The page checklist of the browser suite, written once (docs/ui.md §4): axe-core with the WCAG tags
the project holds to, the page's language and direction, one h1, no horizontal scroll, targets a
finger can hit; and the signed-in pages the checks run on (a session cookie in a browser context).

Every page test runs `check` (portal pages), `form_check` (citizens' forms) or `staff_check`
(back-office pages); the single checks are here too, for the tests that assert one thing at a time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from hawiya.core import clock
from hawiya.identity import services
from hawiya.identity.models import User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.registry.models import Document, DocumentKind
from hawiya.registry.tests.factories import make_address, make_document, make_lost_document

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
# WCAG 1.4.6 Contrast (Enhanced): 7:1 for text, 4.5:1 for large text.
AAA_CONTRAST = {"runOnly": {"type": "rule", "values": ["color-contrast-enhanced"]}}
WIDTHS = [360, 1280]
LANGUAGES = ["ar", "en"]
# The page sweeps check each page in both languages and at both widths, not in every pairing
# (CI's time): Arabic, the first language, on a phone and English on a desktop for the citizens'
# pages; Arabic on a desktop (the officers' screens) and English on a phone for the back-office.
# The pairing left out repeats a width and a language that are each checked already.
PORTAL_VARIANTS = [("ar", 360), ("en", 1280)]
BACKOFFICE_VARIANTS = [("ar", 1280), ("en", 360)]
CONTINUE = {"ar": "متابعة", "en": "Continue"}
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
# The staff's authenticator-app key in the back-office tests.
SECRET = "JBSWY3DPEHPK3PXPE2EOFFIC"

# Links that are targets of their own, held to the 44 × 44 target size (docs/ui.md §4, DGA). A
# link inside a sentence may be as high as its line; these are not: "Change" in summary lists,
# error-summary links, help links, the PDF links and the staff sub-navigation.
LINK_TARGETS = [
    ".hw-error-summary a",
    ".hw-summary__action a",
    ".hw-losses-change a",
    ".hw-appointment-change a",
    ".hw-appointment-links a",
    ".hw-document-links a",
    ".hw-help a",
    ".hw-form-link a",
    ".hw-staff-subnav a",
    ".hw-menu__link",
]


def with_links(*selectors: str) -> str:
    """One CSS selector: `selectors` and the link targets."""
    return ", ".join([*selectors, *LINK_TARGETS])


# What a finger must hit, 44 px at least. On most pages every control; on the citizens' form pages
# (losses, requests, the journeys) radios and checkboxes are hit through their labels instead.
PAGE_TARGETS = with_links("main .hw-button", "main button", "main summary", ".hw-back-link", "main input")
FORM_TARGETS = with_links(
    "main .hw-button",
    "main button",
    ".hw-back-link",
    "main input[type=text]",
    "main input[type=file]",
    "main textarea",
    "main select",
)
# The back-office pages: every control, and the links of the dense tables (24 px there).
STAFF_TARGETS = with_links(
    "main .hw-button",
    "main button",
    "main summary",
    ".hw-back-link",
    "main input:not([type=hidden])",
    "main select",
    "main textarea",
    "main .hw-staff-table a",
)
SHELL_TARGETS = with_links(
    "header a", "nav a", "footer a", ".hw-button", "button", "summary", ".hw-back-link", "input", "select"
)

# A target's height; inside a dense staff table 24 px is enough (docs/ui.md §6), elsewhere 44 px.
# With `labels`, a radio or checkbox is hit through its label too (the larger of the two counts)
# and a link alone in its paragraph is a target of its own (not a link in a sentence).
_SMALL_TARGETS = """({selector, tables, labels}) => {
    const found = Array.from(document.querySelectorAll(selector));
    const alone = labels ? Array.from(document.querySelectorAll('main p > a'))
        .filter((a) => a.parentElement.textContent.trim() === a.textContent.trim()) : [];
    return found.concat(alone)
        .filter((el) => el.getClientRects().length > 0)
        .map((el) => {
            const boxes = [el, ...(labels && el.labels ? el.labels : [])]
                .map((one) => one.getBoundingClientRect().height);
            return [el.outerHTML.slice(0, 70), Math.round(Math.max(...boxes)),
                    tables && el.closest('.hw-staff-table') ? 24 : 44];
        })
        .filter(([, height, least]) => height < least);
}"""

# The page's width against the window's, and the outermost elements sticking out when it is wider.
_WIDER = """() => {
    const width = window.innerWidth;
    const scroll = document.documentElement.scrollWidth;
    if (scroll <= width) return [scroll, width, []];
    const out = Array.from(document.querySelectorAll('body *')).filter((el) => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && (box.right > width + 1 || box.left < -1);
    });
    return [scroll, width, out.filter((el) => !out.includes(el.parentElement))
        .map((el) => el.outerHTML.slice(0, 90))];
}"""


def assert_accessible(page: Page, options: dict[str, Any] = AXE_OPTIONS) -> None:
    result = Axe().run(page, options=options)
    assert result.violations_count == 0, result.generate_report()


def assert_aaa_contrast(page: Page) -> None:
    assert_accessible(page, AAA_CONTRAST)


def html_attrs(page: Page) -> list[str]:
    # A click's navigation can have changed the URL before the new document exists; wait for it.
    page.wait_for_load_state("load")
    return page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]")


def assert_language(page: Page, language: str) -> None:
    """`<html lang dir>`: Arabic right to left, English left to right."""
    assert html_attrs(page) == [language, "rtl" if language == "ar" else "ltr"]


def assert_no_horizontal_scroll(page: Page) -> None:
    scroll, inner, sticking_out = page.evaluate(_WIDER)
    assert scroll <= inner, f"page is {scroll}px wide in a {inner}px viewport: {sticking_out}"


def assert_targets(
    page: Page, selector: str = PAGE_TARGETS, *, staff_tables: bool = False, labels: bool = False
) -> None:
    """Every visible target of `selector` is 44 px high (24 px inside a staff table if `staff_tables`;
    with `labels`, through its label too, and the links alone in a paragraph are targets)."""
    small = page.evaluate(_SMALL_TARGETS, {"selector": selector, "tables": staff_tables, "labels": labels})
    assert small == [], f"targets too small: {small}"


def check(page: Page, language: str = "ar", *, targets: str = PAGE_TARGETS) -> None:
    """The page checklist: language and direction, one h1, no horizontal scroll, targets, axe."""
    page.wait_for_load_state()  # after a click, the new page whole (see `at`)
    assert_language(page, language)
    assert page.locator("h1").count() == 1
    assert_no_horizontal_scroll(page)
    assert_targets(page, targets)
    assert_accessible(page)


def form_check(page: Page, language: str = "ar") -> None:
    """The checklist of a citizen's form page (its radios and checkboxes hit through their labels)."""
    check(page, language, targets=FORM_TARGETS)


def staff_check(page: Page, language: str) -> None:
    """The checklist of a back-office page: 44 px targets outside the dense tables, 24 px inside."""
    page.wait_for_load_state()  # after a click, the new page whole (see `at`)
    assert_language(page, language)
    assert page.locator("h1").count() == 1
    assert_no_horizontal_scroll(page)
    assert_targets(page, PAGE_TARGETS, staff_tables=True)
    assert_accessible(page)


ERROR_TITLE = {"ar": re.compile(r"^خطأ:"), "en": re.compile(r"^Error:")}


def error_state(page: Page, language: str) -> None:
    """After a form sent wrong: the error summary shown, the title starting with "Error:".

    Each check waits for the answer: a click that submits a form returns once the new page has
    started, before its <title> is parsed (a busy machine showed an empty title).
    """
    expect(page.locator(".hw-error-summary")).to_be_visible()
    expect(page).to_have_title(ERROR_TITLE[language])


def error_summary_focused(page: Page) -> None:
    """hawiya.js (deferred) moves the focus to the error summary: wait until it has."""
    try:
        page.wait_for_function(
            "() => !!document.activeElement?.closest('[data-error-summary]')", timeout=5000
        )
    except PlaywrightTimeoutError:
        raise AssertionError("the error summary is not focused") from None


def at(page: Page, path: str) -> bool:
    """The page is at `path` (a fragment carried over a redirect does not count), and loaded.

    A click that submits a form or follows a link returns once the next page has started, before
    it is parsed: waiting for its load here means what the test reads next is the whole new page.
    """
    page.wait_for_load_state()
    return urlsplit(page.url).path == path


def fonts_ready(page: Page) -> None:
    """Wait until the web fonts have loaded (a fallback font's first paint measures differently)."""
    page.evaluate("() => document.fonts.ready")


# --- Signed-in pages ------------------------------------------------------------------------------


def sign_in(
    context: BrowserContext, live_server: Any, user: User, *, recently: bool = False, record: bool = False
) -> None:
    """The context carries `user`'s session cookie: `recently` authenticated (what reporting a loss
    and the account's changes ask for); `record`ed as a device on "my sessions"."""
    client = Client()
    client.force_login(user)
    session = client.session
    if recently:
        session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(clock.now())
    session.save()
    assert session.session_key
    if record:
        key = session.session_key
        services.user_session_record(user=user, session_key=key, ip="127.0.0.1", user_agent=UA)
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )


def context_for(
    browser: Any, live_server: Any, width: int, user: User | None = None, **options: Any
) -> BrowserContext:
    """A new browser context `width` px wide (740 px tall), signed in as `user` if given."""
    context = browser().new_context(viewport={"width": width, "height": 740}, **options)
    if user is not None:
        sign_in(context, live_server, user)
    return context


def signed_in(
    open_page: Callable[[int], Page],
    live_server: Any,
    user: User,
    width: int = 360,
    *,
    recently: bool = True,
    record: bool = True,
) -> Page:
    """A page `width` px wide signed in as `user` (by default recently, and recorded as a device)."""
    page = open_page(width)
    sign_in(page.context, live_server, user, recently=recently, record=record)
    return page


def citizen_page(
    open_page: Callable[[int], Page], live_server: Any, width: int, *, with_documents: bool = False
) -> tuple[Page, User]:
    """A browser signed in as a new citizen (with a National Address), recently authenticated;
    `with_documents` gives the citizen an ID card reported lost and a birth certificate (the
    account page's documents list), which other journeys make for themselves."""
    user = make_account()
    make_address(person_of(user))
    if with_documents:
        make_lost_document(holder=person_of(user))
        make_document(holder=person_of(user), kind=DocumentKind.BIRTH_CERTIFICATE)
    return signed_in(open_page, live_server, user, width), user


def demo_citizen() -> tuple[User, Document]:
    """A citizen like the demo's: an account, a National Address and a valid national ID card."""
    user = make_account()
    make_address(person_of(user))
    card = make_document(
        holder=person_of(user), kind=DocumentKind.NATIONAL_ID_CARD, issue_date=dt.date(2021, 6, 1)
    )
    return user, card


def demo_citizen_page(
    open_page: Callable[[int], Page], live_server: Any, width: int
) -> tuple[Page, User, Document]:
    """A browser signed in (recently) as a new demo-like citizen."""
    user, card = demo_citizen()
    return signed_in(open_page, live_server, user, width, record=False), user, card


def working_day(at_least_days: int) -> dt.date:
    """The first Sunday-to-Thursday day at least `at_least_days` from today (a bookable office's week)."""
    day = clock.today() + dt.timedelta(days=at_least_days)
    while day.isoweekday() not in (7, 1, 2, 3, 4):
        day += dt.timedelta(days=1)
    return day


def photo_file(directory: Path) -> Path:
    """A white 600 × 800 JPEG in `directory`, the photo the request pages upload."""
    path = directory / "photo.jpg"
    Image.new("RGB", (600, 800), "white").save(path, format="JPEG")
    return path
