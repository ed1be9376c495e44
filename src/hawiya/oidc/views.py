"""The provider's pages and documents: the authorization endpoint with Hawiya's own sign-in and
consent screen, discovery and the JWKS. Token, userinfo, revocation and logout are
django-oauth-toolkit's views (oidc/urls.py), the token view less one lookup; the rules are in the
validator and in identity."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_safe
from oauth2_provider.exceptions import ClientIdMissmatch, InvalidIDTokenError, OAuthToolkitError, OIDCError
from oauth2_provider.models import Application
from oauth2_provider.views import AuthorizationView as ToolkitAuthorizationView
from oauth2_provider.views import RPInitiatedLogoutView
from oauth2_provider.views import TokenView as ToolkitTokenView
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.core.client import client_ip
from hawiya.identity.models import User
from hawiya.identity.oidc_claims import (
    ACR_SIGN_IN_REACHES,
    ACR_WITHOUT_PASSKEY,
    ACRS,
    CLAIM_SCOPE,
    SCOPES,
    AcrVerdict,
    acr_for_method,
    acr_request,
    acr_verdict,
    pairwise_subject,
    requested_subject,
)
from hawiya.identity.selectors import has_passkey, relying_party_logo
from hawiya.identity.services.authorization_codes import application_by_client_id
from hawiya.identity.services.consents import consent_covers, consent_record
from hawiya.identity.services.sessions import SessionEnd, user_session_end
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, SIGN_IN_METHOD_SESSION_KEY
from hawiya.identity.signing_keys import published_keys

from .validator import id_token_claims, party_of

# What the consent screen says each scope shares, in the order of SCOPES.
SCOPE_DESCRIPTIONS = {
    "openid": _("An identifier for you that only this service receives"),
    "profile": _("Your full name in Arabic and in English"),
    "national_id": _("Your national ID or Iqama number"),
    "birthdate": _("Your date of birth (Gregorian and Hijri)"),
    "phone": _("Your mobile number on record"),
    "address": _("Your National Address"),
}
_ID_NUMBER = re.compile(r"^[12][0-9]{9}$")


def _ui_language(value: str | None) -> str | None:
    """The first of the party's ui_locales that Hawiya speaks (ar, en), else None."""
    for tag in (value or "").split():
        base = tag.split("-")[0].lower()
        if base in {"ar", "en"}:
            return base
    return None


# A sign-in this recent is the one the party's request just asked for (see _reachable).
JUST_SIGNED_IN = dt.timedelta(minutes=2)


def _auth_time(request: HttpRequest) -> dt.datetime | None:
    value = request.session.get(RECENT_AUTH_SESSION_KEY)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def _error_redirect(redirect_uri: str, error: str, state: str | None) -> HttpResponseRedirect:
    params = {"error": error, **({"state": state} if state else {})}
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(redirect_uri + separator + urlencode(params))


class AuthorizationView(ToolkitAuthorizationView):
    """/oidc/authorize/: sign-in (Hawiya's own pages), then consent, then the code."""

    template_name = "oidc/authorize.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # The party's ui_locales choose the page language (the sign-in pages follow, by URL).
        language = _ui_language(request.GET.get("ui_locales"))
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return cast(HttpResponseBase, super().dispatch(request, *args, **kwargs))

    def _sign_in_redirect(self) -> HttpResponseRedirect:
        """To the portal's sign-in, coming back here (without prompt=login, which it satisfies)."""
        query = self.request.GET.copy()
        prompt = [value for value in query.get("prompt", "").split() if value != "login"]
        if prompt:
            query["prompt"] = " ".join(prompt)
        else:
            query.pop("prompt", None)
        params = {"next": f"{self.request.path}?{query.urlencode()}"}
        hint = self.request.GET.get("login_hint", "").strip()
        if _ID_NUMBER.match(hint):
            params["login_hint"] = hint
        with translation.override(translation.get_language() or settings.LANGUAGE_CODE):
            url = reverse("portal:sign-in")
        return HttpResponseRedirect(f"{url}?{urlencode(params)}")

    def handle_no_permission(self) -> HttpResponse:
        prompt = set(self.request.GET.get("prompt", "").split())
        if "none" in prompt:
            return cast(HttpResponse, super().handle_no_permission())  # login_required to the party
        try:
            _scopes, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return cast(HttpResponse, self.error_response(error, application=None))
        if self._acr_verdict(ACR_SIGN_IN_REACHES).acr is None:
            # Not even a new sign-in would meet the party's essential acr: no use asking for one.
            return _error_redirect(credentials["redirect_uri"], "access_denied", credentials.get("state"))
        return self._sign_in_redirect()

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return cast(HttpResponse, self.error_response(error, application=None))
        application = application_by_client_id(credentials["client_id"])
        party = party_of(application)
        user = cast(User, request.user)
        redirect_uri, state = credentials["redirect_uri"], credentials.get("state")
        prompt = set(request.GET.get("prompt", "").split())

        if self._acr_verdict(ACR_SIGN_IN_REACHES).acr is None:
            # An essential acr no sign-in meets: a failed authentication (Core §5.5.1.1), before
            # anyone is signed out or asked to sign in again for nothing.
            return _error_redirect(redirect_uri, "access_denied", state)
        if self._needs_fresh_sign_in(user, party, prompt):
            if "none" in prompt:
                return _error_redirect(redirect_uri, "login_required", state)
            # A re-authentication, not a sign-out: the session is forgotten (the security page
            # would list it still), but no party is told (no `user`), or any party could sign a
            # citizen out of all the others by asking for prompt=login.
            user_session_end(session_key=request.session.session_key, user=None)
            logout(request)
            return self._sign_in_redirect()

        if self._acr_verdict().acr is None:
            # An essential acr this session does not meet and a new sign-in of this person would
            # not either (no passkey, or they just chose another way): a failed authentication.
            return _error_redirect(redirect_uri, "access_denied", state)
        assert party is not None  # noqa: S101 - the validator refused the request otherwise
        if "consent" not in prompt and consent_covers(user=user, party=party, scopes=scopes):
            try:
                uri, _headers, _body, _status = self.create_authorization_response(
                    request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
                )
            except OAuthToolkitError as error:
                return cast(HttpResponse, self.error_response(error, application))
            return cast(HttpResponse, self.redirect(uri, application))
        if "none" in prompt:
            return _error_redirect(redirect_uri, "consent_required", state)

        response = cast(HttpResponse, super().get(request, *args, **kwargs))
        # Browsers apply form-action to the redirect after Allow/Cancel: the party's origin too.
        origin = urlsplit(redirect_uri)
        response._csp_update = {"form-action": [f"{origin.scheme}://{origin.netloc}"]}  # type: ignore[attr-defined]
        return response

    def _acr_verdict(self, achieved: str | None = None) -> AcrVerdict:
        """What the party's acr_values or claims parameter ask of this session's sign-in (or of
        one that achieved `achieved`)."""
        asked = acr_request(
            acr_values=self.request.GET.get("acr_values"), claims=self.request.GET.get("claims")
        )
        if achieved is None:
            method = self.request.session.get(SIGN_IN_METHOD_SESSION_KEY, "")
            achieved = acr_for_method(method if isinstance(method, str) else "")
            return acr_verdict(asked, achieved, reachable=self._reachable(achieved))
        return acr_verdict(asked, achieved)

    def _reachable(self, achieved: str) -> str:
        """The strongest class a new sign-in of the signed-in person could reach: with a passkey
        the phishing-resistant class, else two factors (every sign-in reaches that). Right after
        a sign-in, two factors: a person who just chose their password over their passkey is not
        sent round the sign-in again (a voluntary request gets what they did, an essential one
        is refused)."""
        signed_in = _auth_time(self.request)
        just_signed_in = signed_in is not None and clock.now() - signed_in < JUST_SIGNED_IN
        user = self.request.user
        if not just_signed_in and isinstance(user, User) and has_passkey(user=user):
            return ACR_SIGN_IN_REACHES
        return ACR_WITHOUT_PASSKEY

    def _names_someone_else(self, user: User, party: Any) -> bool:
        """The claims parameter asks for an ID token about another `sub` (Core §5.5.1)."""
        subject = requested_subject(self.request.GET.get("claims"))
        return subject is not None and (party is None or subject != pairwise_subject(user, party))

    def _needs_fresh_sign_in(self, user: User, party: Any, prompt: set[str]) -> bool:
        """prompt=login, a sign-in older than max_age, an id_token_hint or a requested `sub`
        naming someone else, or a sign-in weaker than the acr the party asked for when a new one
        would reach it."""
        if "login" in prompt or self._acr_verdict().sign_in_again:
            return True
        if self._names_someone_else(user, party):
            return True
        max_age = self.request.GET.get("max_age", "")
        if max_age.isdigit():
            signed_in = _auth_time(self.request)
            if signed_in is None or clock.now() - signed_in > dt.timedelta(seconds=int(max_age)):
                return True
        hint = self.request.GET.get("id_token_hint", "")
        if hint and party is not None:
            claims = id_token_claims(hint)
            if claims is None or claims.get("sub") != pairwise_subject(user, party):
                return True
        return False

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        party = party_of(kwargs.get("application"))
        scopes = kwargs.get("scopes") or []
        context["party"] = party
        context["party_name"] = party.display_name(translation.get_language() or "ar") if party else ""
        context["shared"] = [SCOPE_DESCRIPTIONS[scope] for scope in SCOPES if scope in scopes]
        context["ui_locales"] = self.request.GET.get("ui_locales", "")
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        if form.cleaned_data.get("allow"):
            application = application_by_client_id(str(form.cleaned_data.get("client_id") or ""))
            party = party_of(application)
            asked = str(form.cleaned_data.get("scope") or "").split()
            if party is not None and not party.is_suspended:
                # Only what the party may ask for (the hidden field can be edited).
                scopes = [
                    scope for scope in asked if scope in SCOPES and scope in {"openid", *party.allowed_scopes}
                ]
                user = cast(User, self.request.user)
                consent_record(
                    actor=Actor.citizen(user.pk, ip=client_ip(self.request)),
                    user=user,
                    party=party,
                    scopes=scopes,
                )
        return cast(HttpResponse, super().form_valid(form))

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        # How the citizen signed in, for acr/amr/auth_time (the validator keeps it on the code).
        acr = self._acr_verdict().acr
        if allow and (acr is None or self._names_someone_else_than(cast(User, request.user), credentials)):
            # The session changed since the page was shown: what the party required is not met.
            denied = AccessDeniedError(
                description="The sign-in does not meet the authentication the client requires.",
                state=credentials.get("state"),
            )
            raise OAuthToolkitError(error=denied, redirect_uri=credentials.get("redirect_uri"))
        credentials = {
            **credentials,
            "hawiya_sign_in_method": request.session.get(SIGN_IN_METHOD_SESSION_KEY, ""),
            "hawiya_auth_time": request.session.get(RECENT_AUTH_SESSION_KEY),
            "hawiya_acr": acr,
        }
        return super().create_authorization_response(request, scopes, credentials, allow)

    def _names_someone_else_than(self, user: User, credentials: dict[str, Any]) -> bool:
        if requested_subject(self.request.GET.get("claims")) is None:
            return False  # the usual case: no second read of the party
        party = party_of(application_by_client_id(str(credentials.get("client_id") or "")))
        return self._names_someone_else(user, party)


class TokenView(ToolkitTokenView):
    """The toolkit's token endpoint without its read-back of every issued access token for the
    `app_authorized` signal, which nothing here listens to (the exchange is audited by the
    validator); the device flow, which the toolkit's view also serves, is not offered."""

    @method_decorator(sensitive_post_parameters("client_secret"))
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


def _hint_audience(claims: dict[str, Any]) -> str | None:
    """The client id an ID token was issued to: its `aud`, or `azp` when it has several."""
    audience = claims.get("aud")
    if isinstance(audience, list):
        audience = claims.get("azp") if len(audience) != 1 else audience[0]
    return audience if isinstance(audience, str) and audience else None


class LogoutView(RPInitiatedLogoutView):
    """/oidc/logout/ (RP-initiated logout): the toolkit's view; its confirmation page may send the
    person back to the party's post_logout_redirect_uri, so that origin may be a form's target.

    The toolkit knows an id_token_hint only by its row, which the retention deletes some weeks
    after the token expired (HAWIYA_RETENTION_ID_TOKENS_DAYS), while a party may keep its session,
    and so the token, longer. A hint with no row but Hawiya's valid signature and issuer still
    names its party (its audience): the person is asked, signed out, and sent back to that party's
    registered post_logout_redirect_uri (to no other). A hint Hawiya did not sign is refused with a
    page that says so. An unknown client_id is refused too (the toolkit raised DoesNotExist: a 500).
    """

    hint_client_id: str | None = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = cast(HttpResponse, super().get(request, *args, **kwargs))
        context = getattr(response, "context_data", None) or {}
        target = request.GET.get("post_logout_redirect_uri", "")
        # Only once the toolkit accepted the URI for the party (no error on the page).
        if response.status_code == 200 and target and not context.get("error"):
            origin = urlsplit(target)
            response._csp_update = {"form-action": [f"{origin.scheme}://{origin.netloc}"]}  # type: ignore[attr-defined]
        return response

    def validate_logout_request_user(self, id_token_hint: Any, client_id: Any) -> Any:
        self.hint_client_id = None
        try:
            return super().validate_logout_request_user(id_token_hint, client_id)
        except InvalidIDTokenError:
            # No row (pruned), or not Hawiya's at all: only the signature and issuer can tell.
            claims = id_token_claims(id_token_hint)
            audience = _hint_audience(claims) if claims is not None else None
            if claims is None or claims.get("iss") != settings.HAWIYA_OIDC_ISSUER or audience is None:
                raise
            if client_id and client_id != audience:
                raise ClientIdMissmatch() from None
            # The token names no session or user the toolkit can find: token_user stays None,
            # so a signed-in person is asked before being signed out (must_prompt).
            self.hint_client_id = audience
            return None

    def get_request_application(self, id_token: Any, client_id: Any) -> Application | None:
        if id_token is not None and not client_id:
            return cast(Application, id_token.application)
        wanted = client_id or self.hint_client_id
        # None for an unknown party: a post_logout_redirect_uri is then refused (400).
        return application_by_client_id(wanted) if wanted else None

    def error_response(self, error: OIDCError) -> HttpResponse:
        context = {"error": error, "bad_hint": isinstance(error, InvalidIDTokenError)}
        return cast(HttpResponse, self.render_to_response(context, status=error.status_code))

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: Any = None,
        state: Any = None,
        token_user: Any = None,
    ) -> Any:
        # Before the toolkit deletes the tokens, which name the parties the person is signed in to.
        user = token_user or self.request.user
        user_session_end(
            session_key=self.request.session.session_key,
            user=user if isinstance(user, User) else None,
            reason=SessionEnd.PARTY_LOGOUT,
        )
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)


@require_safe
def discovery(request: HttpRequest) -> JsonResponse:
    """/.well-known/openid-configuration (OpenID Connect Discovery 1.0)."""
    issuer = settings.HAWIYA_OIDC_ISSUER

    def url(name: str) -> str:
        return issuer + reverse(f"oauth2_provider:{name}")

    document = {
        "issuer": issuer,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "userinfo_endpoint": url("user-info"),
        "jwks_uri": url("jwks-info"),
        "revocation_endpoint": url("revoke-token"),
        "end_session_endpoint": url("rp-initiated-logout"),
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "PS256"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": sorted(
            {*CLAIM_SCOPE, "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr"}
        ),
        "acr_values_supported": list(ACRS),
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["ar", "en"],
        "claims_locales_supported": ["ar", "en"],
        # Its id_token acr and sub members are honoured; claims follow the scopes (docs/oidc.md).
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": False,
    }
    response = JsonResponse(document)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def ssf_configuration(request: HttpRequest) -> JsonResponse:
    """/.well-known/ssf-configuration (OpenID Shared Signals Framework 1.0, transmitter metadata):
    who signs the Security Event Tokens, where its keys are, and that they are pushed (RFC 8935).
    No stream-management endpoints: administrators set each party's stream (docs/oidc.md)."""
    issuer = settings.HAWIYA_OIDC_ISSUER
    document = {
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": issuer + reverse("oauth2_provider:jwks-info"),
        "delivery_methods_supported": ["urn:ietf:rfc:8935"],
    }
    response = JsonResponse(document)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def party_logo(request: HttpRequest, client_id: str) -> HttpResponse:
    """/oidc/parties/<client id>/logo.png: the logo on the party's consent screen (public: the
    party's own branding; stored files are not served from MEDIA_URL)."""
    logo = relying_party_logo(client_id=client_id)
    if logo is None:
        raise Http404
    response = HttpResponse(logo, content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def jwks(request: HttpRequest) -> JsonResponse:
    """/oidc/jwks/: every published signing key (the active one of each algorithm, made on a fresh
    install, and those retired but not pruned)."""
    keys = published_keys()
    response = JsonResponse({"keys": keys})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    return response
