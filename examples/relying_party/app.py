"""بنك المثال / Example Bank — a relying party that signs citizens in with Hawiya.

A small Flask app, separate from Hawiya, that uses an off-the-shelf OpenID Connect client
(Authlib) and nothing else of Hawiya's: everything it knows about the provider comes from
Hawiya's discovery document. Authorization-code flow with PKCE (S256), a nonce checked in the
ID token, the claims shown (national ID masked), RP-initiated logout. And "check a card": the bank asks
Hawiya's document-status API whether a card it was shown is still good, with a token of its own
(OAuth 2.0 client credentials, scope `document_status`), kept until it expires.

    .venv/bin/python examples/relying_party/app.py      # or: make example-rp

Environment: HAWIYA_URL (default http://127.0.0.1:8000), EXAMPLE_RP_PORT (8001),
EXAMPLE_RP_CLIENT_SECRET (default: the published demo secret that `make run` registers).
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import Flask, Response, abort, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError  # Authlib's ID-token checks raise it (bad signature, nonce)
from werkzeug.wrappers import Response as BaseResponse

CLIENT_ID = "example-bank"
# Published on purpose, like the demo staff accounts' password: Hawiya registers this party with
# it only in demo mode. A real bank keeps its secret out of the code.
DEMO_CLIENT_SECRET = "example-bank-demo-secret-2026"  # noqa: S105
SCOPE = "openid profile national_id birthdate"
STATUS_SCOPE = "document_status"  # the bank's own token (client credentials), not a citizen's
CARD_KINDS = ("national_id_card", "birth_certificate", "family_record")
ID_NUMBER = re.compile(r"[12][0-9]{9}")
SERIAL_NUMBER = re.compile(r"[A-Za-z][0-9]{9}")
LANGUAGES = ("ar", "en")

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


class DocumentStatusClient:
    """The bank's calls to Hawiya's document-status API. Its access token comes from the token
    endpoint by client credentials (scope `document_status`, the bank's secret by HTTP Basic) and
    is kept, shared by the bank's threads, until it expires; a token Hawiya refuses (401: revoked)
    is dropped and fetched again once."""

    def __init__(self, hawiya_url: str, client_secret: str, token_endpoint: Callable[[], str]) -> None:
        self.url = f"{hawiya_url}/api/v1/document-status"
        self.token_endpoint = token_endpoint  # read from the discovery document when first needed
        # Used only to fetch the token, under the lock; the checks themselves are plain requests.
        self.session = OAuth2Session(
            CLIENT_ID,
            client_secret,
            scope=STATUS_SCOPE,
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

    def check(self, id_number: str, kind: str, serial_number: str) -> dict[str, Any]:
        """Hawiya's answer ({status, checked_at}); raises requests.RequestException, OAuthError."""
        body = {"id_number": id_number, "kind": kind, "serial_number": serial_number}
        for renew in (False, True):
            headers = {"Authorization": f"Bearer {self._access_token(renew)}"}
            answer = requests.post(self.url, json=body, headers=headers, timeout=10)
            if answer.status_code != 401:
                break
        answer.raise_for_status()
        return dict(answer.json())


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
    status_client = DocumentStatusClient(
        app.config["HAWIYA_URL"],
        app.config["CLIENT_SECRET"],
        lambda: hawiya.load_server_metadata()["token_endpoint"],
    )

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
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' "
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
