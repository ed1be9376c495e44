"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's live_server.

Never downloads a browser. Without /usr/bin/chromium the tests fail (not skip): a missing browser
must not pass CI silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

# Playwright's sync API runs an event loop in this thread; Django's ORM then refuses to run in it
# ("async unsafe") although the calls are in fact synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def _e2e_server_settings() -> Iterator[None]:
    # Session-wide and autouse, so it is in force before live_server builds its handler: the
    # SecurityMiddleware reads SECURE_SSL_REDIRECT once, when the middleware chain is built, and
    # the live server speaks plain HTTP. (Static files: the root conftest switches the suite to
    # plain StaticFilesStorage, so no collectstatic is needed.)
    from django.test.utils import override_settings

    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True)
def _browser_test_settings(settings: Any) -> None:
    """What every browser test runs with: a fast password hasher, the demo SMS outbox (the tests
    read codes from it) and an empty cache (no throttle counter left by an earlier test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def _browser_holder(playwright: Playwright) -> Iterator[dict[str, Browser]]:
    holder: dict[str, Browser] = {}
    yield holder
    if "browser" in holder:
        holder["browser"].close()


@pytest.fixture
def browser(_browser_holder: dict[str, Browser], playwright: Playwright) -> Callable[..., Browser]:
    """A launcher, called inside the test so a missing Chromium is a test failure, not an error."""

    def launch(executable: Path = CHROMIUM) -> Browser:
        if not executable.exists():
            pytest.fail("install Debian's chromium: apt-get install chromium")
        if "browser" not in _browser_holder:
            _browser_holder["browser"] = playwright.chromium.launch(
                executable_path=str(executable), args=CHROMIUM_ARGS
            )
        return _browser_holder["browser"]

    return launch


# Every page reports what its Content-Security-Policy blocked (the browser fires
# `securitypolicyviolation`; Playwright's init scripts are not subject to the page's policy).
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"} `
    + `in ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


# What Chromium says when a policy blocks something or a header is wrong.
_POLICY_MESSAGES = ("CSP violation", "Content Security Policy", "Permissions-Policy")


def watch_policy(context: BrowserContext) -> list[str]:
    """The CSP violations and policy-header errors reported by any page of `context`."""
    violations: list[str] = []
    context.add_init_script(_REPORT_VIOLATIONS)
    context.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if any(text in message.text for text in _POLICY_MESSAGES)
            else None
        ),
    )
    return violations


@pytest.fixture
def open_page(browser: Callable[..., Browser]) -> Iterator[Callable[[int], Page]]:
    """open_page(width) → a fresh page (own cookies) with a 740 px tall viewport of that width.
    A test whose pages report a Content-Security-Policy violation fails."""
    contexts = []
    reported: list[list[str]] = []

    def make(width: int) -> Page:
        context = browser().new_context(viewport={"width": width, "height": 740}, locale="ar-SA")
        contexts.append(context)
        reported.append(watch_policy(context))
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    violations = [text for found in reported for text in found]
    assert violations == [], f"the Content-Security-Policy blocked: {violations}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
