"""بنك المثال / Example Bank — a relying party that signs citizens in with Hawiya.

A small Flask app, separate from Hawiya, that uses an off-the-shelf OpenID Connect client
(Authlib) and nothing else of Hawiya's: everything it knows about the provider comes from
Hawiya's discovery document. Authorization-code flow with PKCE (S256), a nonce checked in the
ID token, the claims shown (national ID masked), RP-initiated logout. And "check a card": the bank asks
Hawiya's document-status API whether a card it was shown is still good, with a token of its own
(OAuth 2.0 client credentials, scope `document_status`), kept until it expires. "Approve with Hawiya
app": the bank asks Hawiya's approvals API (scope `approvals`) for a number-matching approval, shows
the number, and its page polls until the citizen has tapped it in Hawiya (or Hawiya's signed callback
says so). And a receiver of Hawiya's security events (RFC 8935 push of RFC 8417 Security Event
Tokens, OpenID Shared Signals), each verified with Hawiya's JWKS, shown on "security events received".

    .venv/bin/python examples/relying_party/app.py      # or: make example-rp

Environment: HAWIYA_URL (default http://127.0.0.1:8000), EXAMPLE_RP_PORT (8001),
EXAMPLE_RP_CLIENT_SECRET (default: the published demo secret that `make run` registers).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import Flask, Response, abort, jsonify, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError  # Authlib's ID-token checks raise it (bad signature, nonce)
from jwcrypto import jwk, jws
from werkzeug.wrappers import Response as BaseResponse

CLIENT_ID = "example-bank"
# Published on purpose, like the demo staff accounts' password: Hawiya registers this party with
# it only in demo mode. A real bank keeps its secret out of the code.
DEMO_CLIENT_SECRET = "example-bank-demo-secret-2026"  # noqa: S105
SCOPE = "openid profile national_id birthdate"
STATUS_SCOPE = "document_status"  # the bank's own token (client credentials), not a citizen's
APPROVALS_SCOPE = "approvals"
CARD_KINDS = ("national_id_card", "birth_certificate", "family_record")
ID_NUMBER = re.compile(r"[12][0-9]{9}")
SERIAL_NUMBER = re.compile(r"[A-Za-z][0-9]{9}")
LANGUAGES = ("ar", "en")
APPROVAL_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
APPROVAL_STATUSES = ("WAITING", "COMPLETED", "REJECTED", "EXPIRED")
MAX_AMOUNT = 1_000_000

# Hawiya's security event types (OpenID CAEP and RISC, and Hawiya's own), and how the bank says them.
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
HAWIYA_EVENTS = "https://hawiya.sa/secevent/"
EVENT_WORDS: dict[str, str] = {
    HAWIYA_EVENTS + "document-reported-lost": "event_document_reported_lost",
    HAWIYA_EVENTS + "document-replaced": "event_document_replaced",
    CAEP + "credential-change": "event_credential_change",
    CAEP + "session-revoked": "event_session_revoked",
    RISC + "account-disabled": "event_account_disabled",
}

TEXT: dict[str, dict[str, str]] = {
    "ar": {
        "bank": "بنك المثال",
        "other_language": "English",
        "tagline": "افتح حسابك في دقائق بهويتك الرقمية الوطنية.",
        "intro": "لا حاجة إلى نماذج ولا إلى زيارة الفرع: سجّل الدخول بهوية "
        "وسنستلم بموافقتك بياناتك من السجل المدني.",
        "sign_in": "تسجيل الدخول عبر هوية",
        "shares": "ستعرض عليك هوية ما سنستلمه قبل أن توافق: الاسم، ورقم الهوية، وتاريخ الميلاد.",
        "welcome": "أهلًا بك",
        "received": "البيانات التي استلمها البنك من هوية",
        "claim": "البيان",
        "value": "القيمة",
        "masked_note": "رقم الهوية مخفيّ إلا آخر أربعة أرقام.",
        "sign_out": "تسجيل الخروج",
        "signed_out": "سجّلت خروجك من بنك المثال.",
        "error_title": "تعذّر تسجيل الدخول",
        "error_denied": "لم توافق على مشاركة بياناتك، فلم يُسجَّل دخولك.",
        "error_other": "لم يكتمل تسجيل الدخول. حاول مرة أخرى.",
        "back": "العودة إلى الصفحة الرئيسية",
        "demo_note": "تطبيق تجريبي يوضّح كيف تسجّل الجهات دخول المواطنين عبر هوية.",
        "check_card": "التحقق من بطاقة",
        "check_intro": "قبل قبول بطاقة يقدّمها عميل، يسأل البنك هوية: هل ما زالت سارية؟ "
        "لا تجيب هوية إلا بحالة الوثيقة، ولا شيء غيرها عن صاحبها.",
        "id_number": "رقم الهوية",
        "kind": "نوع الوثيقة",
        "serial_number": "الرقم التسلسلي للوثيقة",
        "serial_hint": "حرف ثم تسعة أرقام، مطبوع على الوثيقة.",
        "check": "تحقّق",
        "answer": "جواب هوية",
        "checked_at": "وقت الجواب",
        "kind_national_id_card": "بطاقة الهوية الوطنية",
        "kind_birth_certificate": "شهادة الميلاد",
        "kind_family_record": "سجل الأسرة",
        "status_valid": "البطاقة سارية: يمكن قبولها.",
        "status_reported_lost": "أبلغ صاحب هذه البطاقة عن فقدها: لا تقبلها.",
        "status_replaced": "صدرت لصاحب هذه البطاقة بطاقة أحدث تحلّ محلّها: لا تقبل هذه.",
        "status_expired": "انتهت صلاحية هذه البطاقة: لا تقبلها.",
        "status_cancelled": "أُلغيت هذه البطاقة: لا تقبلها.",
        "status_not_found": "لا توجد لدى هوية وثيقة بهذا الرقم التسلسلي ورقم الهوية: تأكّد مما أدخلت.",
        "check_invalid": "تأكّد من رقم الهوية (عشرة أرقام) ومن الرقم التسلسلي (حرف ثم تسعة أرقام).",
        "check_failed": "تعذّر التحقق من البطاقة الآن. حاول مرة أخرى بعد قليل.",
        "approve": "الموافقة عبر تطبيق هوية",
        "approve_intro": "قبل تنفيذ عملية مهمة يطلب البنك موافقتك في هوية: نعرض عليك رقمًا، "
        "فتفتح هوية على هاتفك وتضغط الرقم نفسه.",
        "amount": "مبلغ التحويل (ريال)",
        "amount_hint": "عدد صحيح من 1 إلى 1,000,000.",
        "purpose": "الموافقة على تحويل {amount} ريال من حسابك في بنك المثال",
        "approve_invalid": "تأكّد من رقم الهوية (عشرة أرقام) ومن المبلغ (عدد صحيح من 1 إلى 1,000,000).",
        "approve_failed": "تعذّر طلب الموافقة الآن. حاول مرة أخرى بعد قليل.",
        "tap_this_number": "افتح تطبيق هوية واضغط هذا الرقم",
        "number_label": "رقم المطابقة",
        "what_is_approved": "المطلوب الموافقة عليه",
        "expires_at": "ينتهي الطلب في",
        "refresh": "تحديث الحالة",
        "new_approval": "طلب موافقة جديد",
        "approval_WAITING": "بانتظار موافقتك في هوية…",
        "approval_COMPLETED": "تمّت الموافقة في هوية.",
        "approval_REJECTED": "رُفض الطلب في هوية: ضُغط رقم غير مطابق أو رُفض الطلب.",
        "approval_EXPIRED": "انتهت مهلة الطلب دون رد. اطلب موافقة جديدة.",
        "security_events": "الأحداث الأمنية المستلمة",
        "security_events_intro": "ترسل هوية إلى البنك حدثًا أمنيًا موقّعًا عندما يتغيّر شيء لدى "
        "مواطن سجّل الدخول إلى البنك: فقد وثيقة أو استبدالها، تغيير كلمة المرور، إنهاء الجلسات، "
        "إيقاف تسجيل الدخول. يتحقق البنك من توقيع كل حدث بمفاتيح هوية المنشورة.",
        "security_events_demo": "صفحة تجريبية: يعرض بنك حقيقي هذه الأحداث لموظفيه فقط.",
        "no_events": "لم يصل أي حدث أمني بعد.",
        "event": "الحدث",
        "subject": "المواطن (المعرّف لدى البنك)",
        "event_time": "الوقت",
        "you": "أنت",
        "riyadh_time": "بتوقيت الرياض",
        "event_document_reported_lost": "أُبلغ عن فقد وثيقة",
        "event_document_replaced": "استُبدلت وثيقة",
        "event_credential_change": "غُيّرت كلمة المرور أو أُعيد تعيينها",
        "event_session_revoked": "أُنهيت الجلسات في هوية",
        "event_account_disabled": "أُوقف تسجيل الدخول أو حُظر",
    },
    "en": {
        "bank": "Example Bank",
        "other_language": "العربية",
        "tagline": "Open your account in minutes with your national digital identity.",
        "intro": "No forms and no branch visit: sign in with Hawiya and, with your consent, "
        "we receive your details from the civil register.",
        "sign_in": "Sign in with Hawiya",
        "shares": "Hawiya shows you what we will receive before you agree: your name, ID number "
        "and date of birth.",
        "welcome": "Welcome",
        "received": "What the bank received from Hawiya",
        "claim": "Claim",
        "value": "Value",
        "masked_note": "The ID number is hidden except its last four digits.",
        "sign_out": "Sign out",
        "signed_out": "You have signed out of Example Bank.",
        "error_title": "Sign-in did not complete",
        "error_denied": "You did not agree to share your details, so you are not signed in.",
        "error_other": "Sign-in did not complete. Please try again.",
        "back": "Back to the home page",
        "demo_note": "A demonstration app showing how parties sign citizens in with Hawiya.",
        "check_card": "Check a card",
        "check_intro": "Before accepting a card a customer shows, the bank asks Hawiya whether it is "
        "still good. Hawiya answers only the document's status, nothing else about its holder.",
        "id_number": "ID number",
        "kind": "Document",
        "serial_number": "Serial number of the document",
        "serial_hint": "A letter and nine digits, printed on the document.",
        "check": "Check",
        "answer": "Hawiya's answer",
        "checked_at": "Answered at",
        "kind_national_id_card": "National ID card",
        "kind_birth_certificate": "Birth certificate",
        "kind_family_record": "Family record",
        "status_valid": "The card is valid: it can be accepted.",
        "status_reported_lost": "Its holder has reported this card lost: do not accept it.",
        "status_replaced": "A newer card has replaced this one: do not accept it.",
        "status_expired": "This card has expired: do not accept it.",
        "status_cancelled": "This card has been cancelled: do not accept it.",
        "status_not_found": "Hawiya has no document with this serial number for this ID number: "
        "check what you typed.",
        "check_invalid": "Check the ID number (ten digits) and the serial number (a letter and nine digits).",
        "check_failed": "The card could not be checked just now. Please try again in a moment.",
        "approve": "Approve with Hawiya app",
        "approve_intro": "Before an important operation the bank asks for your approval in Hawiya: we "
        "show you a number, you open Hawiya on your phone and tap the same number.",
        "amount": "Amount to transfer (SAR)",
        "amount_hint": "A whole number from 1 to 1,000,000.",
        "purpose": "Approve a transfer of {amount} SAR from your Example Bank account",
        "approve_invalid": "Check the ID number (ten digits) and the amount (a whole number from 1 to "
        "1,000,000).",
        "approve_failed": "The approval could not be asked for just now. Please try again in a moment.",
        "tap_this_number": "Open Hawiya and tap this number",
        "number_label": "Number to match",
        "what_is_approved": "To approve",
        "expires_at": "The request expires at",
        "refresh": "Refresh the status",
        "new_approval": "A new approval",
        "approval_WAITING": "Waiting for your approval in Hawiya…",
        "approval_COMPLETED": "Approved in Hawiya.",
        "approval_REJECTED": "Rejected in Hawiya: a different number was tapped, or the request was refused.",
        "approval_EXPIRED": "The request expired unanswered. Ask for a new approval.",
        "security_events": "Security events received",
        "security_events_intro": "Hawiya sends the bank a signed security event when something changes "
        "for a citizen who signed in to the bank: a document lost or replaced, the password changed, "
        "sessions ended, sign-in locked. The bank verifies each one with Hawiya's published keys.",
        "security_events_demo": "A demonstration page: a real bank shows these events to its staff only.",
        "no_events": "No security event has arrived yet.",
        "event": "Event",
        "subject": "Citizen (identifier for this bank)",
        "event_time": "Time",
        "you": "you",
        "riyadh_time": "Riyadh time",
        "event_document_reported_lost": "A document was reported lost",
        "event_document_replaced": "A document was replaced",
        "event_credential_change": "The password was changed or reset",
        "event_session_revoked": "Sessions at Hawiya were ended",
        "event_account_disabled": "Sign-in was locked or blocked",
    },
}

# Names for the claims this bank asks for; any other claim is shown under its own name.
CLAIM_LABELS: dict[str, dict[str, str]] = {
    "name": {"ar": "الاسم", "en": "Name"},
    "given_name": {"ar": "الاسم الأول", "en": "Given name"},
    "family_name": {"ar": "اسم العائلة", "en": "Family name"},
    "national_id": {"ar": "رقم الهوية", "en": "ID number"},
    "birthdate": {"ar": "تاريخ الميلاد", "en": "Date of birth"},
    "birthdate_hijri": {"ar": "تاريخ الميلاد (هجري)", "en": "Date of birth (Hijri)"},
    "sub": {"ar": "المعرّف لدى البنك (sub)", "en": "Identifier for this bank (sub)"},
    "acr": {"ar": "مستوى التحقق (acr)", "en": "Assurance level (acr)"},
    "amr": {"ar": "طرق التحقق (amr)", "en": "Authentication methods (amr)"},
}
# Protocol bookkeeping of the ID token: checked by Authlib, not worth showing a customer.
HIDDEN_CLAIMS = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "jti", "sid", "auth_time"}
)


def mask_national_id(value: object) -> str:
    """All but the last four characters hidden: the bank shows a customer it has the number
    without putting the whole number on screen."""
    text = str(value)
    if len(text) <= 4:
        return "•" * len(text)
    return "•" * (len(text) - 4) + text[-4:]


def display_claims(claims: Mapping[str, Any], language: str) -> list[tuple[str, str]]:
    """(label, value) rows for the claims page, national ID masked, bookkeeping left out."""
    rows = []
    # Known claims in the order above (names first), then any other in the order received.
    order = list(CLAIM_LABELS)
    ranked = sorted(
        claims,
        key=lambda name: (
            order.index(name.partition("#")[0]) if name.partition("#")[0] in order else len(order)
        ),
    )
    for name in ranked:
        value = claims[name]
        if name in HIDDEN_CLAIMS:
            continue
        # Language-tagged claims (OpenID Connect Core §5.2), e.g. "name#en", keep their tag.
        base, _, tag = name.partition("#")
        label = CLAIM_LABELS.get(base, {}).get(language, base) + (f" ({tag})" if tag else "")
        if name == "national_id":
            shown = mask_national_id(value)
        elif isinstance(value, list):
            shown = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            shown = " · ".join(f"{key}: {item}" for key, item in value.items())
        else:
            shown = str(value)
        rows.append((label, shown))
    return rows


class PartyApiClient:
    """The bank's own calls to one of Hawiya's party APIs. Its access token comes from the token
    endpoint by client credentials (the API's `scope`, the bank's secret by HTTP Basic) and is
    kept, shared by the bank's threads, until it expires; a token Hawiya refuses (401: revoked) is
    dropped and fetched again once."""

    def __init__(
        self, hawiya_url: str, client_secret: str, token_endpoint: Callable[[], str], scope: str
    ) -> None:
        self.hawiya_url = hawiya_url
        self.token_endpoint = token_endpoint  # read from the discovery document when first needed
        # Used only to fetch the token, under the lock; the calls themselves are plain requests.
        self.session = OAuth2Session(
            CLIENT_ID,
            client_secret,
            scope=scope,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method, not a secret
        )
        self.lock = threading.Lock()

    def _access_token(self, renew: bool) -> str:
        with self.lock:
            token = self.session.token
            if renew or not token or token.is_expired(leeway=60):
                token = self.session.fetch_token(
                    self.token_endpoint(), grant_type="client_credentials", timeout=10
                )
            return str(token["access_token"])

    def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, language: str = "ar"
    ) -> requests.Response:
        """Hawiya's answer, whatever its status; raises requests.RequestException, OAuthError."""
        for renew in (False, True):
            headers = {
                "Authorization": f"Bearer {self._access_token(renew)}",
                "Accept-Language": language,  # Hawiya's error messages, in the page's language
            }
            answer = requests.request(
                method, f"{self.hawiya_url}{path}", json=body, headers=headers, timeout=10
            )
            if answer.status_code != 401:
                break
        return answer


class DocumentStatusClient(PartyApiClient):
    """Hawiya's document-status API (scope `document_status`)."""

    def __init__(self, hawiya_url: str, client_secret: str, token_endpoint: Callable[[], str]) -> None:
        super().__init__(hawiya_url, client_secret, token_endpoint, STATUS_SCOPE)

    def check(self, id_number: str, kind: str, serial_number: str) -> dict[str, Any]:
        """Hawiya's answer ({status, checked_at}); raises requests.RequestException, OAuthError."""
        body = {"id_number": id_number, "kind": kind, "serial_number": serial_number}
        answer = self.call("POST", "/api/v1/document-status", body)
        answer.raise_for_status()
        return dict(answer.json())


class ApprovalsClient(PartyApiClient):
    """Hawiya's app-approvals API (scope `approvals`): ask, then read the status."""

    def __init__(self, hawiya_url: str, client_secret: str, token_endpoint: Callable[[], str]) -> None:
        super().__init__(hawiya_url, client_secret, token_endpoint, APPROVALS_SCOPE)

    def ask(
        self, id_number: str, purpose_ar: str, purpose_en: str, callback_url: str, language: str
    ) -> requests.Response:
        """POST /api/v1/approvals: 201 {id, number, status, expires_at}, or Hawiya's error. A
        Hawiya that will not call this bank back (it calls plain http on the loopback in demo mode
        only) is asked again without the callback: polling alone is enough."""
        body = {"id_number": id_number, "purpose_ar": purpose_ar, "purpose_en": purpose_en}
        if callback_url:
            answer = self.call("POST", "/api/v1/approvals", {**body, "callback_url": callback_url}, language)
            if answer.status_code != 422 or error_code(answer) != "callback_url_invalid":
                return answer
        return self.call("POST", "/api/v1/approvals", body, language)

    def status(self, approval_id: str) -> str:
        """WAITING, COMPLETED, REJECTED or EXPIRED; raises requests.RequestException, OAuthError,
        ValueError (an answer that is none of them)."""
        answer = self.call("GET", f"/api/v1/approvals/{approval_id}")
        answer.raise_for_status()
        status = str(answer.json().get("status", ""))
        if status not in APPROVAL_STATUSES:
            raise ValueError(f"not an approval status: {status!r}")
        return status


def error_code(answer: requests.Response) -> str:
    """The `code` of a Hawiya API error answer, or ""."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


# --- Tokens signed by Hawiya: security events (RFC 8417) and approval callbacks ------------------

# What Hawiya signs with (its JWKS publishes RS256 and ES256 keys); never "none", never HMAC.
SIGNING_ALGORITHMS = ["RS256", "ES256"]
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MAX_TOKEN_BYTES = 16 * 1024
CLOCK_LEEWAY = 300  # seconds a token's times may be off from the bank's clock


class Refused(Exception):
    """A token the bank does not accept: `err` is the RFC 8935 §2.3 code, `description` why."""

    def __init__(self, err: str, description: str) -> None:
        super().__init__(f"{err}: {description}")
        self.err = err
        self.description = description


class KeysUnavailable(Exception):
    """Hawiya's JWKS could not be read: nothing can be verified just now (try later)."""


class HawiyaKeys:
    """Hawiya's published signing keys: the JWKS its discovery document names, fetched when first
    needed and again, once, when a token names a key we do not have (Hawiya rotated its keys).
    A refetch is at most every `refetch_seconds`, so tokens with made-up key ids cannot make the
    bank hammer Hawiya."""

    def __init__(self, jwks_uri: Callable[[], str], refetch_seconds: float = 10.0) -> None:
        self.jwks_uri = jwks_uri
        self.refetch_seconds = refetch_seconds
        self.keys: jwk.JWKSet | None = None
        self.fetched_at = 0.0
        self.fetches = 0  # how often the JWKS was read (the tests count them)
        self.lock = threading.Lock()

    def _fetch(self) -> jwk.JWKSet:
        try:
            answer = requests.get(self.jwks_uri(), timeout=10)
            answer.raise_for_status()
            keys = jwk.JWKSet.from_json(answer.text)
        except (requests.RequestException, ValueError, KeyError, jwk.InvalidJWKValue) as error:
            raise KeysUnavailable(str(error)) from error
        self.fetches += 1
        self.keys, self.fetched_at = keys, time.monotonic()
        return keys

    def key(self, kid: str) -> jwk.JWK | None:
        with self.lock:
            keys, fresh = self.keys, False
            if keys is None:
                keys, fresh = self._fetch(), True
            found = keys.get_key(kid)
            if found is None and not fresh and time.monotonic() - self.fetched_at >= self.refetch_seconds:
                found = self._fetch().get_key(kid)
            return found


def verified_claims(token: str, keys: HawiyaKeys, typ: str) -> dict[str, Any]:
    """The claims of `token` if it is a compact JWS of type `typ` whose signature one of Hawiya's
    published keys verifies; else Refused. The type is checked because Hawiya signs ID tokens,
    security events and approval callbacks with the same keys: one must not pass for another."""
    if len(token) > MAX_TOKEN_BYTES or not COMPACT_JWS.fullmatch(token):
        raise Refused("invalid_request", "The body is not a signed JWT (compact JWS).")
    signed = jws.JWS()
    try:
        signed.deserialize(token)
        header = dict(signed.jose_header)
    except (jws.InvalidJWSObject, ValueError, TypeError):
        raise Refused("invalid_request", "The body is not a signed JWT (compact JWS).") from None
    if str(header.get("typ", "")).lower().removeprefix("application/") != typ:
        raise Refused("invalid_request", f"The token's type (typ) is not {typ}.")
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in SIGNING_ALGORITHMS:
        raise Refused("invalid_key", f"The token must be signed with {' or '.join(SIGNING_ALGORITHMS)}.")
    if not isinstance(kid, str) or not kid:
        raise Refused("invalid_key", "The token names no key (kid).")
    key = keys.key(kid)
    if key is None:
        raise Refused("invalid_key", "Hawiya's JWKS has no key with the token's kid.")
    signed.allowed_algs = SIGNING_ALGORITHMS
    try:
        signed.verify(key, alg=alg)
        claims = json.loads(signed.payload)
    except jws.InvalidJWSSignature:
        raise Refused("authentication_failed", "The token's signature does not verify.") from None
    except (ValueError, TypeError):
        raise Refused("invalid_request", "The token's claims are not a JSON object.") from None
    if not isinstance(claims, dict):
        raise Refused("invalid_request", "The token's claims are not a JSON object.")
    return claims


def issuer_and_audience_check(claims: Mapping[str, Any], issuer: str) -> None:
    if claims.get("iss") != issuer:
        raise Refused("invalid_issuer", "The token was not issued by Hawiya.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if CLIENT_ID not in audiences:
        raise Refused("invalid_audience", f"The token is not meant for {CLIENT_ID}.")


def jti_of(claims: Mapping[str, Any]) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise Refused("invalid_request", "The token has no jti.")
    return jti


def security_event_check(claims: Mapping[str, Any], issuer: str, now: float) -> None:
    """A Security Event Token's claims (RFC 8417 §2.2), the signature already verified: Hawiya's
    iss, this bank as aud, an iat not in the future (an old one is fine: a bank that was down gets
    its events later), a jti, and events: an object of event types to objects."""
    issuer_and_audience_check(claims, issuer)
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool) or iat > now + CLOCK_LEEWAY:
        raise Refused("invalid_request", "The token's iat is missing or in the future.")
    jti_of(claims)
    events = claims.get("events")
    if (
        not isinstance(events, dict)
        or not events
        or not all(isinstance(name, str) and isinstance(body, dict) for name, body in events.items())
    ):
        raise Refused("invalid_request", "The token's events claim is not an object of events.")


@dataclass(frozen=True)
class ReceivedEvent:
    jti: str
    event_type: str
    subject: str
    at: dt.datetime
    detail: Mapping[str, Any] = field(default_factory=dict)


def received_events(claims: Mapping[str, Any]) -> list[ReceivedEvent]:
    """One row per event of a checked SET: its type, whom it is about (SSF's `sub_id`, else `sub`)
    and when it happened (`event_timestamp`, else the token's iat)."""
    subject_id = claims.get("sub_id")
    subject = subject_id.get("sub", "") if isinstance(subject_id, dict) else claims.get("sub", "")
    rows = []
    for event_type, event in claims["events"].items():
        stamp = event.get("event_timestamp", claims["iat"])
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            stamp = claims["iat"]
        rows.append(
            ReceivedEvent(
                jti=str(claims["jti"]),
                event_type=event_type,
                subject=str(subject),
                at=dt.datetime.fromtimestamp(stamp, tz=dt.UTC),
                detail=event,
            )
        )
    return rows


class SecurityEventLog:
    """The last `keep` events received, newest first, in memory (a demo: a bank keeps them in its
    database). A SET whose jti was seen is not recorded again: Hawiya retries with the same jti."""

    def __init__(self, keep: int = 100, remember: int = 1000) -> None:
        self.events: deque[ReceivedEvent] = deque(maxlen=keep)
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.remember = remember
        self.lock = threading.Lock()

    def add(self, claims: Mapping[str, Any]) -> bool:
        """Record a checked SET's events; False if its jti was already seen."""
        with self.lock:
            jti = str(claims["jti"])
            if jti in self.seen:
                return False
            self.seen[jti] = None
            while len(self.seen) > self.remember:
                self.seen.popitem(last=False)
            for event in received_events(claims):
                self.events.appendleft(event)
            return True

    def recent(self) -> list[ReceivedEvent]:
        with self.lock:
            return list(self.events)


try:
    RIYADH: dt.tzinfo = ZoneInfo("Asia/Riyadh")
except ZoneInfoNotFoundError:  # a system without the time-zone database
    RIYADH = dt.timezone(dt.timedelta(hours=3))  # Saudi Arabia keeps no summer time


def shown_time(value: str, language: str) -> str:
    """An ISO 8601 time from Hawiya as the bank shows it: date and time to the second, Riyadh
    time (as Hawiya shows it to the citizen)."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return f"{moment.astimezone(RIYADH):%Y-%m-%d %H:%M:%S} ({TEXT[language]['riyadh_time']})"


@dataclass(frozen=True)
class Approval:
    id: str
    number: int
    purpose_ar: str
    purpose_en: str
    expires_at: str
    status: str = "WAITING"


class ApprovalBook:
    """The approvals this bank asked for (the last `keep`), in memory, with the status last heard
    from Hawiya: by polling its API or by its signed callback (a callback's jti is taken once)."""

    def __init__(self, keep: int = 200) -> None:
        self.approvals: OrderedDict[str, Approval] = OrderedDict()
        self.callback_jtis: OrderedDict[str, None] = OrderedDict()
        self.keep = keep
        self.lock = threading.Lock()

    def add(self, approval: Approval) -> None:
        with self.lock:
            self.approvals[approval.id] = approval
            while len(self.approvals) > self.keep:
                self.approvals.popitem(last=False)

    def get(self, approval_id: str) -> Approval | None:
        with self.lock:
            return self.approvals.get(approval_id)

    def settle(self, approval_id: str, status: str) -> Approval | None:
        """Note the status Hawiya answered; an ended approval stays as it ended."""
        with self.lock:
            found = self.approvals.get(approval_id)
            if found is not None and found.status == "WAITING" and status in APPROVAL_STATUSES:
                found = self.approvals[approval_id] = replace(found, status=status)
            return found

    def callback_seen(self, jti: str) -> bool:
        """True if a callback with this jti came before; remembers it otherwise."""
        with self.lock:
            if jti in self.callback_jtis:
                return True
            self.callback_jtis[jti] = None
            while len(self.callback_jtis) > self.keep * 5:
                self.callback_jtis.popitem(last=False)
            return False


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    port = int(os.environ.get("EXAMPLE_RP_PORT", "8001"))
    app.config.update(
        HAWIYA_URL=os.environ.get("HAWIYA_URL", "http://127.0.0.1:8000").rstrip("/"),
        BASE_URL=f"http://127.0.0.1:{port}",
        PORT=port,
        CLIENT_SECRET=os.environ.get("EXAMPLE_RP_CLIENT_SECRET", DEMO_CLIENT_SECRET),
        # A new key each start signs everyone out of the demo bank, which is fine for a demo.
        SECRET_KEY=os.environ.get("EXAMPLE_RP_SECRET_KEY") or secrets.token_hex(32),
        # Cookies are not kept apart by port: Hawiya on :8000 and the bank on :8001 share the
        # host, so the bank's cookie needs a name of its own.
        SESSION_COOKIE_NAME="example_bank_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        # Nothing the bank receives is bigger (a form, a security event, a callback).
        MAX_CONTENT_LENGTH=64 * 1024,
        # Ask Hawiya to call back when an approval ends (besides polling it).
        APPROVAL_CALLBACKS=True,
        # The least time between two reads of Hawiya's JWKS for an unknown key id.
        JWKS_REFETCH_SECONDS=10.0,
    )
    if config:
        app.config.update(config)

    oauth = OAuth(app)
    oauth.register(
        "hawiya",
        client_id=CLIENT_ID,
        client_secret=app.config["CLIENT_SECRET"],
        server_metadata_url=f"{app.config['HAWIYA_URL']}/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    hawiya = oauth.create_client("hawiya")

    def token_endpoint() -> str:
        # Read from the discovery document when first needed.
        return str(hawiya.load_server_metadata()["token_endpoint"])

    def jwks_uri() -> str:
        return str(hawiya.load_server_metadata()["jwks_uri"])

    hawiya_url, secret = app.config["HAWIYA_URL"], app.config["CLIENT_SECRET"]
    status_client = DocumentStatusClient(hawiya_url, secret, token_endpoint)
    approvals_client = ApprovalsClient(hawiya_url, secret, token_endpoint)
    hawiya_keys = HawiyaKeys(jwks_uri, app.config["JWKS_REFETCH_SECONDS"])
    # Kept on the app, so the tests (and a curious reader) can look at them.
    app.extensions["hawiya_keys"] = hawiya_keys
    event_log = app.extensions["security_events"] = SecurityEventLog()
    approval_book = app.extensions["approvals"] = ApprovalBook()

    def hawiya_issuer() -> str:
        return str(hawiya.load_server_metadata()["issuer"])

    def language() -> str:
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            session["lang"] = chosen
        return str(session.get("lang", "ar"))

    def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
        lang = language()
        context.setdefault("notice", "")
        return (
            render_template(
                template,
                lang=lang,
                other=("en" if lang == "ar" else "ar"),
                t=TEXT[lang],
                **context,
            ),
            status,
        )

    def sign_out_token() -> str:
        # Signing out is a POST with a token of the session's, so another site cannot sign a
        # customer out behind their back.
        if "form_token" not in session:
            session["form_token"] = secrets.token_urlsafe(16)
        return str(session["form_token"])

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
            "connect-src 'self'; form-action 'self' "
            + app.config["HAWIYA_URL"]
            + "; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.get("/")
    def home() -> tuple[str, int] | BaseResponse:
        language()  # a ?lang= switch is remembered even when we go straight on
        if "claims" in session:
            return redirect(url_for("claims"))
        notice = ""
        if request.args.get("state"):
            # Back from Hawiya's end-session endpoint: the state we sent says it was our sign-out.
            try:
                hawiya.validate_logout_response()
                notice = TEXT[language()]["signed_out"]
            except OAuthError:
                pass
        return page("home.html", notice=notice)

    @app.post("/sign-in")
    def sign_in() -> BaseResponse:
        # The nonce is bound to this browser's session and checked in the ID token by Authlib
        # (a token minted for another sign-in is refused); PKCE's verifier is kept the same way.
        nonce = secrets.token_urlsafe(24)
        return hawiya.authorize_redirect(
            f"{app.config['BASE_URL']}/callback", nonce=nonce, ui_locales=language()
        )

    @app.get("/callback")
    def callback() -> tuple[str, int] | BaseResponse:
        if request.args.get("error"):
            reason = "error_denied" if request.args["error"] == "access_denied" else "error_other"
            return page("error.html", 400, message=TEXT[language()][reason])
        try:
            # Checks the state, sends the PKCE verifier, verifies the ID token's signature
            # (JWKS), issuer, audience, expiry and that its nonce is the one we sent.
            token = hawiya.authorize_access_token()
            # The userinfo endpoint answers for the same subject with the scopes' claims.
            profile = hawiya.userinfo(token=token)
        except (OAuthError, JoseError, requests.RequestException) as error:
            app.logger.warning("sign-in with Hawiya failed: %s", error)
            return page("error.html", 400, message=TEXT[language()]["error_other"])
        claims = dict(token.get("userinfo") or {})
        if not claims.get("nonce") or profile.get("sub") != claims["sub"]:
            return page("error.html", 400, message=TEXT[language()]["error_other"])
        claims.update(profile)
        session["claims"] = claims
        session["id_token"] = token["id_token"]
        return redirect(url_for("claims"))

    @app.get("/account")
    def claims() -> tuple[str, int] | BaseResponse:
        if "claims" not in session:
            return redirect(url_for("home"))
        received = session["claims"]
        name_key = "name" if "name" in received else "given_name"
        return page(
            "claims.html",
            rows=display_claims(received, language()),
            name=received.get(name_key, ""),
            form_token=sign_out_token(),
        )

    @app.route("/check-card", methods=["GET", "POST"])
    def check_card() -> tuple[str, int]:
        text = TEXT[language()]
        form = {name: request.form.get(name, "").strip() for name in ("id_number", "kind", "serial_number")}
        context: dict[str, Any] = {"form": form, "kinds": CARD_KINDS, "form_token": sign_out_token()}
        if request.method == "GET":
            return page("check_card.html", **context)
        if request.form.get("form_token") != session.get("form_token"):
            abort(400)
        if (
            not ID_NUMBER.fullmatch(form["id_number"])
            or form["kind"] not in CARD_KINDS
            or not SERIAL_NUMBER.fullmatch(form["serial_number"])
        ):
            return page("check_card.html", 400, message=text["check_invalid"], **context)
        try:
            answer = status_client.check(form["id_number"], form["kind"], form["serial_number"].upper())
        except (OAuthError, requests.RequestException, ValueError) as error:
            app.logger.warning("document-status check failed: %s", error)
            return page("check_card.html", 502, message=text["check_failed"], **context)
        answered = str(answer.get("status", ""))
        return page(
            "check_card.html",
            answered=answered,
            verdict=text.get(f"status_{answered}", text["check_failed"]),
            checked_at=str(answer.get("checked_at", "")),
            **context,
        )

    # --- "Approve with Hawiya app": number matching ----------------------------------------------

    def approval_view(approval: Approval) -> dict[str, Any]:
        text = TEXT[language()]
        return {
            "status": approval.status,
            "message": text[f"approval_{approval.status}"],
            "done": approval.status != "WAITING",
        }

    def own_approval(approval_id: str) -> Approval:
        # Only the browser that asked may watch an approval (its id is in its session).
        if approval_id not in session.get("approvals", []):
            abort(404)
        approval = approval_book.get(approval_id)
        if approval is None:
            abort(404)
        return approval

    def refreshed(approval: Approval) -> Approval:
        """The approval with Hawiya's status, asked only while it waits (a callback may already
        have told us the end); Hawiya unreachable leaves it waiting."""
        if approval.status != "WAITING":
            return approval
        try:
            status = approvals_client.status(approval.id)
        except (OAuthError, requests.RequestException, ValueError) as error:
            app.logger.warning("approval status failed: %s", error)
            return approval
        return approval_book.settle(approval.id, status) or approval

    @app.route("/approve", methods=["GET", "POST"])
    def approve() -> tuple[str, int] | BaseResponse:
        lang = language()
        text = TEXT[lang]
        form = {name: request.form.get(name, "").strip() for name in ("id_number", "amount")}
        form["amount"] = form["amount"] or "5000"
        context: dict[str, Any] = {"form": form, "form_token": sign_out_token()}
        if request.method == "GET":
            return page("approve.html", **context)
        if request.form.get("form_token") != session.get("form_token"):
            abort(400)
        amount = int(form["amount"]) if form["amount"].isdigit() else 0
        if not ID_NUMBER.fullmatch(form["id_number"]) or not 0 < amount <= MAX_AMOUNT:
            return page("approve.html", 400, message=text["approve_invalid"], **context)
        shown = f"{amount:,}"
        purpose_ar = TEXT["ar"]["purpose"].format(amount=shown)
        purpose_en = TEXT["en"]["purpose"].format(amount=shown)
        callback = f"{app.config['BASE_URL']}/approvals/callback" if app.config["APPROVAL_CALLBACKS"] else ""
        try:
            answer = approvals_client.ask(form["id_number"], purpose_ar, purpose_en, callback, lang)
        except (OAuthError, requests.RequestException) as error:
            app.logger.warning("approval request failed: %s", error)
            return page("approve.html", 502, message=text["approve_failed"], **context)
        if answer.status_code in (409, 429):
            # Hawiya's own words (in the page's language): one waiting request per person, or
            # too many requests.
            try:
                said = str(answer.json()["message"])
            except (ValueError, KeyError, TypeError):
                said = text["approve_failed"]
            return page("approve.html", answer.status_code, message=said, **context)
        try:
            answer.raise_for_status()
            created = answer.json()
            approval = Approval(
                id=str(created["id"]),
                number=int(created["number"]),
                purpose_ar=purpose_ar,
                purpose_en=purpose_en,
                expires_at=str(created["expires_at"]),
            )
            if not APPROVAL_ID.fullmatch(approval.id):
                raise ValueError("not an approval id")
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            app.logger.warning("approval request refused: %s %s", answer.status_code, error)
            return page("approve.html", 502, message=text["approve_failed"], **context)
        approval_book.add(approval)
        session["approvals"] = [*session.get("approvals", [])[-9:], approval.id]
        return redirect(url_for("approval_page", approval_id=approval.id))

    @app.get("/approve/<approval_id>")
    def approval_page(approval_id: str) -> tuple[str, int]:
        current = refreshed(own_approval(approval_id))
        view = approval_view(current)
        return page(
            "approval.html",
            approval=current,
            state=view["status"],
            message=view["message"],
            expires=shown_time(current.expires_at, language()),
        )

    @app.get("/approve/<approval_id>/status")
    def approval_status(approval_id: str) -> Response:
        """What the approval page's script polls: {status, message (the page's language), done}."""
        response = jsonify(approval_view(refreshed(own_approval(approval_id))))
        response.headers["Cache-Control"] = "no-store"
        return response

    def refusal(error: Refused) -> tuple[Response, int]:
        # RFC 8935 §2.3: 400 with {"err", "description"}.
        return jsonify({"err": error.err, "description": error.description}), 400

    def unavailable() -> tuple[Response, int]:
        # Not the sender's fault: a 503 makes Hawiya try again later (none lost).
        body = {"err": "temporarily_unavailable", "description": "Hawiya's keys cannot be read just now."}
        return jsonify(body), 503

    @app.post("/approvals/callback")
    def approval_callback() -> tuple[Response | str, int]:
        """Hawiya's signed word that an approval ended: {"token": "<JWT approval+jwt>"}. Verified
        like a security event (JWKS, iss, aud, exp); a repeat (same jti) changes nothing."""
        try:
            body = request.get_json(silent=True) if (request.content_length or 0) <= MAX_TOKEN_BYTES else None
            token = body.get("token") if isinstance(body, dict) else None
            if not isinstance(token, str):
                raise Refused("invalid_request", 'Send {"token": "<JWT>"} as application/json.')
            claims = verified_claims(token, hawiya_keys, "approval+jwt")
            issuer_and_audience_check(claims, hawiya_issuer())
            exp = claims.get("exp")
            if not isinstance(exp, int) or exp < time.time() - CLOCK_LEEWAY:
                raise Refused("invalid_request", "The token has expired.")
            jti = jti_of(claims)
            approval_id, status = claims.get("approval_id"), claims.get("status")
            if not isinstance(approval_id, str) or approval_book.get(approval_id) is None:
                raise Refused("invalid_request", "The bank asked for no such approval.")
            if status not in APPROVAL_STATUSES:
                raise Refused("invalid_request", "The token's status is not an approval status.")
        except Refused as error:
            app.logger.warning("approval callback refused: %s", error)
            return refusal(error)
        except KeysUnavailable:
            return unavailable()
        if not approval_book.callback_seen(jti):
            approval_book.settle(approval_id, status)
        return "", 204

    # --- Security events (RFC 8935 push of RFC 8417 Security Event Tokens) ------------------------

    @app.post("/security-events")
    def security_event_receive() -> tuple[Response | str, int]:
        """Hawiya's push: the body is one SET (application/secevent+jwt). 202 once it is checked
        (a repeated jti too, recorded once); 400 with the RFC 8935 error otherwise."""
        try:
            if request.mimetype != "application/secevent+jwt":
                raise Refused("invalid_request", "The body must be application/secevent+jwt.")
            if (request.content_length or 0) > MAX_TOKEN_BYTES:
                raise Refused("invalid_request", "The body is too long for a security event.")
            token = request.get_data(as_text=True).strip()
            claims = verified_claims(token, hawiya_keys, "secevent+jwt")
            security_event_check(claims, hawiya_issuer(), time.time())
        except Refused as error:
            app.logger.warning("security event refused: %s", error)
            return refusal(error)
        except KeysUnavailable:
            return unavailable()
        event_log.add(claims)
        return "", 202

    @app.get("/security-events")
    def security_events() -> tuple[str, int]:
        text = TEXT[language()]
        mine = session.get("claims", {}).get("sub")
        rows = [
            {
                "type": event.event_type,
                "words": text[EVENT_WORDS[event.event_type]] if event.event_type in EVENT_WORDS else "",
                "kind": text.get(f"kind_{event.detail.get('document_kind')}", ""),
                "subject": event.subject,
                "mine": bool(mine) and event.subject == mine,
                "at": shown_time(event.at.isoformat(), language()),
            }
            for event in event_log.recent()
        ]
        return page("security_events.html", events=rows)

    @app.post("/sign-out")
    def sign_out() -> BaseResponse:
        if request.form.get("form_token") != session.get("form_token"):
            abort(400)
        id_token = session.get("id_token")
        lang = session.get("lang", "ar")
        session.clear()
        session["lang"] = lang
        if not id_token:
            return redirect(url_for("home"))
        # RP-initiated logout: Hawiya ends its own session too, then sends the browser back here
        # with the state Authlib keeps in our session.
        return hawiya.logout_redirect(
            post_logout_redirect_uri=f"{app.config['BASE_URL']}/",
            id_token_hint=id_token,
            client_id=CLIENT_ID,
            ui_locales=lang,
        )

    return app


if __name__ == "__main__":
    application = create_app()
    application.run(host="127.0.0.1", port=application.config["PORT"], debug=False)
