"""Content-Security-Policy and Permissions-Policy on every URL (issue 10 §3).

Every URL pattern is found by walking the resolver (a new page is checked without anyone adding
it here), its parameters filled with a real case of the right kind, and requested by each kind of
visitor: anonymous, the citizen who owns the case, one with a bill to pay, an officer and a
supervisor of its office, and a superuser (the admin). Every answer, whatever its status, carries
the Permissions-Policy; every HTML answer carries the strict CSP and holds no inline script, style
or event handler that the policy would block (a `<script>`/`<style>` only with the page's nonce).
"""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from hawiya.casework.tests.factories import booked_today, open_office, signed_in, staff_user
from hawiya.config.csp import checkout_origin
from hawiya.core.headers import FEATURES, allow_features, permissions_policy
from hawiya.identity.models import StaffRole, User
from hawiya.identity.tests.factories import activate, make_account, person_of
from hawiya.payments.tests.factories import make_bill

pytestmark = pytest.mark.django_db

# URL names answered only in demo mode (404 otherwise): walked a second time with DEMO on.
DEMO_ONLY = re.compile(r"(^|:)(dev-sms|payments-demo|courier)")
# Features a page may be allowed beyond the deny-all default, by URL name.
ALLOWED_FEATURES = {"backoffice:case-biometrics": "camera=(self)"}


def url_patterns() -> list[tuple[str, list[str]]]:
    """(namespaced name, parameter names) of every named URL, the admin's included."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns: list[Any], namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                names = set(getattr(entry.pattern, "converters", {}) or {})
                names |= set(entry.pattern.regex.groupindex)
                found.append((namespace + entry.name, sorted(names)))

    walk(get_resolver().url_patterns, "")
    return found


class _Inline(HTMLParser):
    """What a strict CSP would block: inline scripts and style blocks without the nonce, style
    attributes, event-handler attributes and javascript: URLs."""

    def __init__(self, nonce: str) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.blocked: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name == "style":
                self.blocked.append(f'<{tag} style="{value}">')
            elif name.startswith("on"):
                self.blocked.append(f"<{tag} {name}>")
            elif name in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}={value}>")
        data_block = tag == "script" and (values.get("type") or "").lower() in {
            "application/json",
            "application/ld+json",
        }
        inline = tag == "style" or (tag == "script" and "src" not in values and not data_block)
        if inline and (not self.nonce or values.get("nonce") != self.nonce):
            self.blocked.append(f"<{tag}> without the page's nonce")


def inline_blocked(html: str, csp: str) -> list[str]:
    match = re.search(r"'nonce-([^']+)'", csp)
    parser = _Inline(match.group(1) if match else "")
    parser.feed(html)
    return parser.blocked


def directives(csp: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_strict(csp: str, where: str) -> None:
    policy = directives(csp)
    assert policy.get("default-src") == ["'self'"], where
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("base-uri") == ["'self'"], where
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert policy.get("form-action") == ["'self'"], where
    assert set(policy.get("img-src", [])) <= {"'self'", "data:", "blob:"}, where
    for name, sources in policy.items():
        assert "'unsafe-inline'" not in sources, (where, name)
        assert "'unsafe-eval'" not in sources, (where, name)
        # No third-party origin anywhere: only keywords, nonces and the data:/blob: schemes.
        others = [s for s in sources if not s.startswith("'") and s not in {"data:", "blob:"}]
        assert others == [], (where, name, others)


@pytest.fixture
def visitors(settings: Any) -> tuple[dict[str, Client], dict[str, Any]]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    cache.clear()
    office = open_office()
    visit = booked_today(office)
    citizen = activate(visit.replacement.applicant)
    payer = make_account()
    bill = make_bill(applicant=person_of(payer))
    superuser = User.objects.create_superuser(username="csp-admin", password="not-used-here-0123")
    clients = {
        "anonymous": Client(),
        "citizen": signed_in(citizen),
        "payer": signed_in(payer),
        "officer": signed_in(staff_user(office=office)),
        "supervisor": signed_in(staff_user(role=StaffRole.SUPERVISOR, office=office)),
        "superuser": signed_in(superuser),
    }
    samples = {
        "reference": visit.replacement.reference,
        "appointment": visit.appointment.reference,
        "bill_number": bill.bill_number,
        "slug": "request-replacement",
        "challenge": "no-such-challenge",
        "event_id": "1",
        "session_id": "no-such-session",
        "holiday_id": 1,
        "party_id": 1,
        "role": "officer",
        "passkey_id": 1,
        "object_id": str(citizen.pk),
        "app_label": "identity",
        "content_type_id": "1",
        "uidb64": "MQ",
        "token": "set-password",
        "url": "",
    }
    return clients, samples


def _kwargs(name: str, params: list[str], samples: dict[str, Any]) -> dict[str, Any]:
    kwargs = {param: samples.get(param, "x") for param in params}
    if name.startswith("portal:appointments-") and "reference" in kwargs:
        kwargs["reference"] = samples["appointment"]
    if name == "portal:dev-sms-delivered":
        kwargs["reference"] = uuid.uuid4()  # an outbox message's id: any one answers (404 or a page)
    return kwargs


def _walk(
    clients: dict[str, Client], samples: dict[str, Any], names: list[tuple[str, list[str]]]
) -> dict[str, int]:
    """GET every URL as every visitor; check each answer. Returns how many HTML pages were seen."""
    html_pages: dict[str, int] = {}
    for name, params in names:
        try:
            url = reverse(name, kwargs=_kwargs(name, params, samples))
        except Exception:  # a pattern whose sample parameters do not fit
            pytest.fail(f"no sample parameters fit {name} {params}")
        for visitor, client in clients.items():
            response = client.get(url)
            where = f"{visitor} GET {url} → {response.status_code}"
            expected = ALLOWED_FEATURES.get(name) if response.status_code == 200 else None
            policy = response.headers.get("Permissions-Policy", "")
            assert "camera=" in policy, where
            if expected:
                assert expected in policy, where
            else:
                assert "camera=()" in policy, where
            if response.headers.get("Content-Type", "").startswith("text/html"):
                csp = response.headers.get("Content-Security-Policy", "")
                assert csp, where
                assert_strict(csp, where)
                body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
                blocked = inline_blocked(body.decode(), csp)
                assert blocked == [], (where, blocked)
                if response.status_code == 200:
                    html_pages[name] = html_pages.get(name, 0) + 1
    return html_pages


def test_every_url_answers_with_the_headers(visitors: tuple[dict[str, Client], dict[str, Any]]) -> None:
    clients, samples = visitors
    names = [(name, params) for name, params in url_patterns() if not DEMO_ONLY.search(name)]
    assert len(names) > 100  # the resolver walk found the site, not an empty list

    pages = _walk(clients, samples, names)

    # The walk reached real pages of every kind, not only sign-in redirects and 404s.
    for name in (
        "portal:home",
        "portal:requests-detail",
        "portal:payments-bill",
        "portal:appointments-detail",
        "backoffice:case",
        "backoffice:case-biometrics",
        "backoffice:case-reject",
        "backoffice:supervisor-dashboard",
        "api-v1:openapi-view",
        "admin:index",
    ):
        assert name in pages, f"{name} never answered 200 with a page"


def test_demo_pages_answer_with_the_headers(
    visitors: tuple[dict[str, Client], dict[str, Any]], settings: Any
) -> None:
    settings.DEMO = True
    clients, samples = visitors
    names = [(name, params) for name, params in url_patterns() if DEMO_ONLY.search(name)]
    assert names

    pages = _walk(clients, samples, names)

    assert "portal:dev-sms" in pages
    assert "backoffice:courier" in pages


def test_pdf_and_json_answers_have_no_page_policy_but_the_permissions_policy(
    visitors: tuple[dict[str, Client], dict[str, Any]],
) -> None:
    """A PDF is shown by the browser's own viewer, which a page policy would leave blank."""
    clients, samples = visitors
    pdf = clients["citizen"].get(reverse("portal:requests-form58", args=[samples["reference"]]))
    api = clients["anonymous"].get("/api/v1/openapi.json")

    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert "Content-Security-Policy" not in pdf.headers
    assert api.status_code == 200
    assert "Content-Security-Policy" not in api.headers
    for response in (pdf, api):
        assert response["Permissions-Policy"] == permissions_policy()


def test_the_api_docs_load_swagger_from_our_own_static_files(client: Client) -> None:
    response = client.get("/api/v1/docs")

    html = response.content.decode()
    assert response.status_code == 200
    assert "cdn" not in html.lower()
    assert re.findall(r'src="([^"]+)"', html) == [
        "/static/ninja/swagger-ui-bundle.js",
        "/static/ninja/swagger-ui-init.js",
    ]
    # Collected with our static files (ninja is an installed app), served by WhiteNoise.
    assert finders.find("ninja/swagger-ui-bundle.js")
    assert finders.find("ninja/swagger-ui.css")


def test_a_real_gateway_adds_its_checkout_origin_to_form_action(client: Client, settings: Any) -> None:
    """The "Pay" button redirects to the gateway's checkout after a form post: form-action must allow it."""
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_GATEWAY_URL = "https://api.gateway.example/v1"
    settings.HAWIYA_PAYMENT_CHECKOUT_HOST = "pay.gateway.example"

    response = client.get(reverse("portal:home"))

    assert checkout_origin() == "https://pay.gateway.example:*"
    assert directives(response["Content-Security-Policy"])["form-action"] == [
        "'self'",
        "https://pay.gateway.example:*",
    ]


def test_the_demo_gateway_keeps_form_action_to_our_own_origin(client: Client, settings: Any) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"

    response = client.get(reverse("portal:home"))

    assert checkout_origin() == ""
    assert directives(response["Content-Security-Policy"])["form-action"] == ["'self'"]


def test_a_nonce_in_a_template_reaches_the_header(rf: Any) -> None:
    """An inline script that must stay carries {{ CSP_NONCE }}; the header then names that nonce."""
    from django.http import HttpResponse
    from django.template import engines

    from hawiya.config.csp import ContentSecurityPolicyMiddleware

    def view(request: Any) -> HttpResponse:
        template = engines["django"].from_string('<script nonce="{{ CSP_NONCE }}">1</script>')
        return HttpResponse(template.render({}, request))

    request = rf.get("/")
    response = ContentSecurityPolicyMiddleware(view)(request)

    nonce = re.search(r'nonce="([^"]+)"', response.content.decode())
    assert nonce
    assert f"'nonce-{nonce.group(1)}'" in directives(response["Content-Security-Policy"])["script-src"]
    assert inline_blocked(response.content.decode(), response["Content-Security-Policy"]) == []


def test_the_inline_checker_finds_what_the_policy_blocks() -> None:
    csp = "script-src 'self' 'nonce-abc'"

    assert inline_blocked('<script nonce="abc">1</script><script src="/a.js"></script>', csp) == []
    assert inline_blocked('<script type="application/json">{}</script>', csp) == []
    assert len(inline_blocked("<script>1</script>", csp)) == 1
    assert len(inline_blocked('<script nonce="other">1</script>', csp)) == 1
    assert len(inline_blocked("<style>p{}</style>", csp)) == 1
    assert len(inline_blocked('<p style="color: red">', csp)) == 1
    assert len(inline_blocked('<button onclick="x()">', csp)) == 1
    assert len(inline_blocked('<a href="javascript:x()">', csp)) == 1


def test_permissions_policy_denies_every_feature_unless_a_view_allows_it() -> None:
    denied = permissions_policy()
    camera = permissions_policy(frozenset({"camera"}))

    assert denied.split(", ") == [f"{feature}=()" for feature in FEATURES]
    assert "camera=(self)" in camera
    assert "microphone=()" in camera
    assert "geolocation=()" in camera
    with pytest.raises(ValueError, match="unknown"):
        allow_features("teleport")


def test_no_template_holds_what_the_policy_would_block() -> None:
    """Pages the walk cannot reach with sample data (a 500 page, a journey's middle step) are
    covered here: no template served as HTML has an inline script, style or handler without the
    nonce. (PDF templates are rendered by WeasyPrint, not by a browser.)"""
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "hawiya"
    found = {}
    for template in sorted(src.glob("*/templates/**/*.html")):
        if "pdf" in template.relative_to(src).parts:
            continue
        text = template.read_text()
        # A nonce written as the template variable counts as the page's nonce.
        blocked = inline_blocked(text.replace("{{ CSP_NONCE }}", "n"), "script-src 'nonce-n'")
        if blocked:
            found[str(template.relative_to(src))] = blocked
    assert found == {}
