"""No input gives a 5xx (issue 10 §1): every URL pattern, every form field and every API field,
with hostile values — a NUL byte, a 100 kB string, Eastern Arabic digits, bidi controls.

Three walks, each collecting every 5xx and failing once with the whole list:

1. **URL patterns**, found by walking the resolver (both languages of the i18n patterns): each
   path parameter is filled with each hostile value (where the converter accepts it; a
   parameter whose converter refuses it gets a valid sample, and the value goes in the query and
   the body instead), then GET with every known query name set to the value and POST with the
   same names as form fields — as the roles that reach the page (anonymous and a citizen with a
   request and an appointment for the portal; a supervisor and an administrator for the
   back-office; a superuser for the admin site).
2. **Form fields**: each page is fetched (valid path samples) as each of its roles; every field of
   every form on it (`<input>`, `<select>`, `<textarea>`) is submitted with each hostile value, one
   field at a time, the others keeping the page's own values (the admin site's forms take each
   value in all fields at once: they validate each field on its own).
3. **API fields**, from the OpenAPI document: every parameter and top-level body property of every
   operation with each hostile value, signed as the courier and the gateway sign, so the value
   gets past the signature check to the lookups.

A pattern the walk cannot build fails `test_every_url_pattern_is_walked` unless UNREACHABLE says
why; a new path parameter needs a valid sample in PATH_SAMPLES.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import LocalePrefixPattern, URLPattern, URLResolver, get_resolver

from hawiya.appointments.tests.factories import at_riyadh, book, make_replacement
from hawiya.casework.tests.factories import open_office, signed_in, staff_user
from hawiya.core import clock
from hawiya.core.signing import request_message, signature_header
from hawiya.delivery.tests.factories import make_shipment
from hawiya.identity.models import StaffRole, User
from hawiya.identity.tests.factories import make_account, person_of

pytestmark = pytest.mark.django_db

HOSTILE: dict[str, str] = {
    "nul": "abc\x00def",
    "100kB": "x" * 100_000,
    "eastern-digits": "١٢٣٤٥٦٧٨٩٠",
    "bidi": "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069ab",
}
LANGUAGES = [code for code, _name in settings.LANGUAGES]
# Query names the views read (grep request.GET), plus the admin's search, order and page.
QUERY_NAMES = (
    "next", "page", "office", "stage", "reveal", "change", "new", "document", "method", "timeout",
)  # fmt: skip
ADMIN_QUERY_NAMES = ("q", "o", "p", "_changelist_filters")
# A valid value for each path parameter: used where a converter refuses a hostile value (int,
# slug, the fixed shapes of a bill number or a loss reference). "{…}" names the walk's own data.
PATH_SAMPLES: dict[str, str] = {
    "reference": "{reference}",
    "bill_number": "000000000000",
    "holiday_id": "{holiday_id}",
    "slug": "lost-documents",
    "challenge": "abc",
    "event_id": "1",
    "session_id": "1",
    "party_id": "1",
    "passkey_id": "1",
    "role": "officer",
    "object_id": "1",
    "content_type_id": "1",
    "app_label": "registry",
}
# Patterns the walk does not request, with the reason (a new one without a reason fails).
UNREACHABLE: dict[str, str] = {}
# Paths whose GET renders a file (PDF, calendar, CSV): not fetched with valid samples for their
# forms (they have none, and rendering a PDF takes a second); hostile values are still walked.
FILE_SUFFIXES = (".pdf", ".ics", ".csv")

Failure = tuple[str, str, str, int]
FORM_ENCODED = "application/x-www-form-urlencoded"


# --- The resolver -----------------------------------------------------------------------------


@dataclass
class Pattern:
    key: str  # the route, the language prefix as "{lang}/"
    parts: list[Any]  # LocalePrefixPattern | RoutePattern | RegexPattern, outermost first
    params: list[str] = field(default_factory=list)


def url_patterns() -> list[Pattern]:
    found: list[Pattern] = []

    def walk(entries: list[Any], parts: list[Any]) -> None:
        for entry in entries:
            here = [*parts, entry.pattern]
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, here)
            elif isinstance(entry, URLPattern):
                key = "".join(
                    "{lang}/" if isinstance(part, LocalePrefixPattern) else str(part) for part in here
                )
                params = [name for part in here for name in re.compile(_regex(part)).groupindex]
                found.append(Pattern(key=key, parts=here, params=params))

    walk(get_resolver().url_patterns, [])
    return found


def _regex(part: Any) -> str:
    if isinstance(part, LocalePrefixPattern):
        return ""
    return str(part.regex.pattern)


_GROUP = re.compile(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)")


def build_path(pattern: Pattern, language: str, value: str, data: dict[str, str]) -> str | None:
    """The path of `pattern` with every parameter set to `value` where its converter accepts it,
    else to its sample; None when a parameter has no sample."""
    path = "/"
    for part in pattern.parts:
        if isinstance(part, LocalePrefixPattern):
            path += f"{language}/"
            continue
        regex = _regex(part).lstrip("^").rstrip("$").removesuffix("\\Z")
        failed = False

        def fill(match: re.Match[str]) -> str:
            nonlocal failed
            name, group = match.group(1), match.group(2)
            if re.fullmatch(group, value):
                return quote(value, safe="")
            sample = PATH_SAMPLES.get(name)
            if sample is None:
                failed = True
                return ""
            sample = sample.format(**data)
            alternatives = group.split("|")
            if len(alternatives) > 1 and all(re.fullmatch(r"[\w-]+", item) for item in alternatives):
                sample = sample if sample in alternatives else alternatives[0]
            return quote(sample, safe="")

        text = _GROUP.sub(fill, regex)
        if failed:
            return None
        path += re.sub(r"\\(.)", r"\1", text)
    return path


# --- The people and their data ------------------------------------------------------------------


@dataclass
class World:
    clients: dict[str, Client]
    data: dict[str, str]
    relogin: dict[str, Callable[[], Client]]

    def keep_signed_in(self, role: str) -> None:
        """A POST may have signed the client out (sign-out, revoke): sign it in again."""
        if role != "anonymous" and "_auth_user_id" not in self.clients[role].session:
            self.clients[role] = self.relogin[role]()


def make_world() -> World:
    cache.clear()
    office = open_office()
    citizen = make_account()
    replacement = make_replacement(applicant=person_of(citizen))
    book(replacement, office, at_riyadh(clock.today() + dt.timedelta(days=3), 10))
    supervisor = staff_user(role=StaffRole.SUPERVISOR, office=office)
    administrator = staff_user(role=StaffRole.ADMINISTRATOR, office=None)
    superuser = User.objects.create_superuser(username="walker-admin", password="walker-password-0123")
    users: dict[str, User | None] = {
        "anonymous": None,
        "citizen": citizen,
        "supervisor": supervisor,
        "administrator": administrator,
        "superuser": superuser,
    }

    def login(user: User | None) -> Callable[[], Client]:
        def make() -> Client:
            client = Client() if user is None else signed_in(user)
            # A 500 is an answer to collect, not an exception that ends the walk.
            client.raise_request_exception = False
            return client

        return make

    relogin = {role: login(user) for role, user in users.items()}
    return World(
        clients={role: make() for role, make in relogin.items()},
        data={"reference": replacement.reference, "holiday_id": "1"},
        relogin=relogin,
    )


def roles_for(key: str) -> tuple[str, ...]:
    if key.startswith("{lang}/admin/"):
        return ("superuser",)
    if key.startswith("{lang}/staff/"):
        return ("supervisor", "administrator")
    if key.startswith("{lang}/"):
        return ("anonymous", "citizen")
    return ("anonymous",)


def _check(failures: list[Failure], role: str, method: str, url: str, response: Any) -> None:
    if response.status_code >= 500:
        failures.append((role, method, url[:160], response.status_code))


def _report(failures: list[Failure]) -> str:
    lines = [f"{status} {method} {url!r} as {role}" for role, method, url, status in failures]
    return f"{len(failures)} server errors:\n" + "\n".join(lines[:200])


# --- 1. Every URL pattern -------------------------------------------------------------------------


def test_every_url_pattern_is_walked() -> None:
    """Every pattern can be built with the samples, or is listed in UNREACHABLE with a reason."""
    data = {"reference": "RP1", "holiday_id": "1"}
    missing = [
        pattern.key
        for pattern in url_patterns()
        if pattern.key not in UNREACHABLE and build_path(pattern, "ar", "x", data) is None
    ]
    assert missing == [], f"add a PATH_SAMPLES entry or an UNREACHABLE reason for: {missing}"
    stale = set(UNREACHABLE) - {pattern.key for pattern in url_patterns()}
    assert not stale, f"UNREACHABLE names patterns that no longer exist: {stale}"


def test_no_url_pattern_answers_5xx_to_hostile_paths_queries_and_bodies() -> None:
    world = make_world()
    failures: list[Failure] = []
    walked = 0
    for pattern in url_patterns():
        if pattern.key in UNREACHABLE:
            continue
        for index, value in enumerate(HOSTILE.values()):
            language = LANGUAGES[index % len(LANGUAGES)]
            path = build_path(pattern, language, value, world.data)
            assert path is not None, pattern.key
            names = ADMIN_QUERY_NAMES if pattern.key.startswith("{lang}/admin/") else QUERY_NAMES
            fields = dict.fromkeys(names, value)
            url = f"{path}?{urlencode(fields)}"
            for role in roles_for(pattern.key):
                client = world.clients[role]
                _check(failures, role, "GET", url, client.get(url))
                # As a browser posts a form (urlencoded), not multipart: the same fields for the
                # view, without parsing a megabyte of multipart for the 100 kB value.
                _check(
                    failures,
                    role,
                    "POST",
                    path,
                    client.post(path, urlencode(fields), content_type=FORM_ENCODED),
                )
                world.keep_signed_in(role)
        walked += 1
    assert walked > 100
    assert not failures, _report(failures)


# --- 2. Every form field --------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]


class FormParser(HTMLParser):
    """The forms of a page: action, method, and each named field with the value the page gives it
    (a select's selected or first option, the first radio of a group, a textarea's text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(values.get("action", ""), values.get("method", "get").lower(), {})
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = values.get("name")
        if tag == "input" and name:
            kind = values.get("type", "text").lower()
            if kind in ("checkbox", "radio") and name in self._form.fields:
                return
            if kind != "file":
                self._form.fields[name] = values.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            self._form.fields.setdefault(name, "")
        elif tag == "option" and self._select and self._form is not None:
            if not self._form.fields.get(self._select) or "selected" in values:
                self._form.fields[self._select] = values.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self._form.fields[name] = ""
        elif tag == "button" and name:
            self._form.fields.setdefault(name, values.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def pages_and_forms(world: World) -> Iterator[tuple[str, str, Form]]:
    """(role, page, form) for every form on every page each role can open, each form once."""
    seen: set[tuple[str, str, str, tuple[str, ...]]] = set()
    for pattern in url_patterns():
        if pattern.key in UNREACHABLE or pattern.key.startswith("api/"):
            continue
        for language in LANGUAGES:
            path = build_path(pattern, language, "/", world.data)  # "/" fits no segment
            if path is None or path.endswith(FILE_SUFFIXES):
                continue
            for role in roles_for(pattern.key):
                response = world.clients[role].get(path)
                if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                    continue
                parser = FormParser()
                parser.feed(response.content.decode())
                for form in parser.forms:
                    target = urlsplit(urljoin(path, form.action or path))
                    if target.netloc or not target.path.startswith("/"):
                        continue
                    action = target.path + (f"?{target.query}" if target.query else "")
                    # One language of each form is enough: the other is the same view.
                    signature = (
                        role,
                        form.method,
                        re.sub(r"^/(ar|en)/", "/", target.path),
                        tuple(sorted(form.fields)),
                    )
                    if signature in seen:
                        continue
                    seen.add(signature)
                    yield role, path, Form(action, form.method, form.fields)


def test_no_form_field_answers_5xx_to_hostile_values() -> None:
    world = make_world()
    failures: list[Failure] = []
    forms = fields = 0
    for role, _page, form in pages_and_forms(world):
        forms += 1
        admin = "/admin/" in form.action
        names = [name for name in form.fields if name != "csrfmiddlewaretoken"]
        attempts: list[tuple[str, dict[str, str]]] = []
        for key, value in HOSTILE.items():
            # A NUL byte anywhere is refused (400) before any view runs (core/guard.py), whatever
            # the field: one try with it in every field covers the form (asserted below).
            if admin or key == "nul":
                attempts.append((key, {**form.fields, **dict.fromkeys(names, value)}))
            else:
                attempts.extend((key, {**form.fields, name: value}) for name in names)
        fields += len(names)
        for key, data in attempts:
            client = world.clients[role]
            if form.method == "post":
                response = client.post(form.action, urlencode(data), content_type=FORM_ENCODED)
            else:
                response = client.get(form.action.split("?")[0], data)
            _check(failures, role, form.method.upper(), form.action, response)
            if key == "nul" and names and response.status_code != 400:
                failures.append(
                    (role, f"{form.method.upper()} (NUL not refused)", form.action, response.status_code)
                )
            if form.method == "post":
                world.keep_signed_in(role)
    assert forms > 20, forms
    assert not failures, _report(failures) + f"\n({forms} forms, {fields} fields)"


# --- 3. Every API field ---------------------------------------------------------------------------

COURIER_KEY_ID = "walker-courier"
COURIER_SECRET = "walker-courier-secret-0123456789abcdef"
GATEWAY_SECRET = "walker-gateway-secret-0123456789abcdef"


@pytest.fixture
def signed_partners(settings: Any) -> None:
    settings.HAWIYA_COURIER = "http"
    settings.HAWIYA_COURIER_URL = "https://courier.example/api"
    settings.HAWIYA_COURIER_API_TOKEN = "token"
    settings.HAWIYA_COURIER_KEY_ID = COURIER_KEY_ID
    settings.HAWIYA_COURIER_SECRET = COURIER_SECRET
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = GATEWAY_SECRET
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def signed_headers(method: str, path: str, body: bytes) -> dict[str, str]:
    """What the gateway and the courier send with a call (core/signing.py)."""
    if path.startswith("/api/v1/payments/"):
        return {"X-Hawiya-Signature": signature_header(body, GATEWAY_SECRET)}
    message = request_message(method, path, body)
    return {
        "X-Hawiya-Signature": signature_header(message, COURIER_SECRET),
        "X-Hawiya-Key-Id": COURIER_KEY_ID,
    }


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _sample_body(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    examples = content.get("examples") or {}
    if examples:
        return dict(next(iter(examples.values()))["value"])
    schema = _resolve(document, content.get("schema", {}))
    sample = {name: "x" for name in schema.get("properties", {})}
    sample.update(
        {"amount_sar": "135.00", "status": "paid"} if "amount_sar" in sample else {"type": "picked_up"}
    )
    sample["at"] = clock.now().isoformat()
    return sample


def test_no_api_field_answers_5xx_to_hostile_values(signed_partners: None) -> None:
    shipment = make_shipment()
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    document = client.get("/api/v1/openapi.json").json()
    failures: list[Failure] = []
    cases = 0
    for route, item in document["paths"].items():
        for method, operation in item.items():
            parameters = [_resolve(document, p) for p in operation.get("parameters", [])]
            body = _sample_body(document, operation)
            body_names = list(body or {})
            names = [("param", p["in"], p["name"]) for p in parameters] + [
                ("body", "", n) for n in body_names
            ]
            for kind, where, name in names:
                for value in HOSTILE.values():
                    path_values = {"reference": shipment.reference}
                    query: dict[str, str] = {}
                    headers: dict[str, str] = {}
                    payload = dict(body or {})
                    if kind == "body":
                        payload[name] = value
                    elif where == "path":
                        path_values[name] = value
                    elif where == "query":
                        query[name] = value
                    path = route
                    for param, param_value in path_values.items():
                        path = path.replace(f"{{{param}}}", quote(param_value, safe=""))
                    if query:
                        path += f"?{urlencode(query)}"
                    raw = json.dumps(payload).encode() if body is not None else b""
                    headers = signed_headers(method.upper(), path, raw)
                    if where == "header":
                        headers[name] = value
                    response = client.generic(
                        method.upper(), path, raw, content_type="application/json", headers=headers
                    )
                    cases += 1
                    _check(failures, "partner", method.upper(), path, response)
                    assert response["Content-Type"].startswith("application/json"), (
                        path,
                        response.content[:200],
                    )
    assert cases > 40, cases
    assert not failures, _report(failures)
