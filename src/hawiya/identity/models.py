"""Accounts of the digital identity, and the state that keeps them safe.

The user model is Hawiya's own from the first migration (Django cannot swap it later without
pain): a citizen's or resident's account is bound to exactly one person of the civil register;
staff accounts (officers, administrators) have no person.

Account-security state lives in its own tables, never on the user row (ADR 0006): one-time codes
and the challenges they belong to, the failure counter that locks an account, the authenticator
app and recovery codes, the list of signed-in sessions, locked sign-in methods and the
person-facing history of security events. Secrets are stored only as keyed hashes, except the
authenticator app's shared secret, which verification needs back: it is stored encrypted
(`EncryptedTextField`, keys in HAWIYA_FIELD_KEYS).

Models hold fields and constraints only; every write goes through `services/`.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.fields import EncryptedTextField
from hawiya.core.models import PushedRow
from hawiya.notifications.models import SmsMessage
from hawiya.registry.models import Person


class Language(models.TextChoices):
    ARABIC = "ar", "العربية"
    ENGLISH = "en", "English"


class User(AbstractUser):
    """An account: a person's digital identity, or a staff member's sign-in."""

    person = models.OneToOneField(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account",
        verbose_name=_("person in the civil register"),
        help_text=_("Empty for staff accounts. One account per person."),
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.ARABIC
    )
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        swappable = "AUTH_USER_MODEL"
        constraints = (
            # Usernames are stored in lower case by the services; this also stops an account
            # written elsewhere (the admin) from differing from another only by case.
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_case_insensitive_unique",
                violation_error_message=_("This username is already taken."),
            ),
        )


class Purpose(models.TextChoices):
    """What a challenge (and the one-time code sent for it) is for. A code verifies one purpose only."""

    ACTIVATION = "activation", _("account activation")
    SIGN_IN = "sign_in", _("sign-in")
    PASSWORD_RESET = "password_reset", _("password reset")
    REAUTHENTICATION = "reauthentication", _("confirming it is you")
    MOBILE_CHANGE_OLD = "mobile_change_old", _("mobile number change (current number)")
    MOBILE_CHANGE_NEW = "mobile_change_new", _("mobile number change (new number)")


class OneTimeCode(models.Model):
    """A challenge — one step of a journey that needs a second proof — and its current SMS code.

    The page keeps only the public `challenge` token in the session. The code itself is never
    stored: `code_hash` is an HMAC of the challenge and the code (keyed by SECRET_KEY). A resend
    replaces the hash, so the previous code can no longer verify. Activation and password-reset
    challenges are created for every request, matching or not; those whose details did not match
    the register have no person and a hash no code can produce (no enumeration).
    """

    challenge = models.CharField(_("challenge"), max_length=64, unique=True, editable=False)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="one_time_codes",
        verbose_name=_("person"),
    )
    user = models.ForeignKey(
        "identity.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="one_time_codes",
        verbose_name=_("account"),
    )
    # Which hourly send quota the codes count against (CodeSendQuota.key).
    rate_key = models.CharField(_("send quota"), max_length=80, editable=False)
    code_hash = models.CharField(_("code hash"), max_length=64, blank=True, default="", editable=False)
    sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    code_expires_at = models.DateTimeField(_("code expires at"), null=True, blank=True)
    send_count = models.PositiveSmallIntegerField(_("codes sent"), default=0)
    wrong_attempts = models.PositiveSmallIntegerField(_("wrong codes for the current code"), default=0)
    # Mobile number changes only: the new number (E.164) the journey will put on record. The
    # current-number step's code goes to the number on record, the new-number step's code here.
    target_mobile = models.CharField(
        _("new mobile number"), max_length=16, blank=True, default="", editable=False
    )
    sms = models.ForeignKey(
        SmsMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last text message"),
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    expires_at = models.DateTimeField(_("challenge expires at"))
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = (models.Index(fields=["expires_at"], name="otc_expires_idx"),)
        constraints = (
            models.CheckConstraint(
                condition=Q(target_mobile="") | Q(target_mobile__regex=r"^\+9665[0-9]{8}$"),
                name="otc_target_mobile_shape",
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class CodeSendQuota(models.Model):
    """The recent SMS sends of one account or ID number: at most N per hour.

    One row per key, locked while a send is decided, so parallel requests cannot both take the
    last place. Keys are opaque (an account id, or an HMAC of an ID number), never an ID number.
    `last_send_at` is the newest of `recent_sends` (kept by the service, indexed): once it is older
    than the quota's hour, the row limits nothing and the retention prune deletes it.
    """

    key = models.CharField(_("key"), max_length=80, unique=True)
    recent_sends = models.JSONField(_("recent sends"), default=list)
    last_send_at = models.DateTimeField(_("last send"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("code send quota")
        verbose_name_plural = _("code send quotas")

    def __str__(self) -> str:
        return self.key


class SignInGuard(models.Model):
    """One account's failed attempts (wrong passwords and codes together) and its lock.

    `failures` is only ever changed by one atomic SQL statement (services), so parallel wrong
    guesses are all counted. `blocked_at` is set when the holder reports an event that was not
    them: sign-in stays closed until they reset the password.
    """

    user = models.OneToOneField(
        "identity.User",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="sign_in_guard",
        verbose_name=_("account"),
    )
    failures = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_failure_at = models.DateTimeField(_("last failure at"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    blocked_at = models.DateTimeField(
        _("blocked at"),
        null=True,
        blank=True,
        help_text=_("Set when the holder reported activity that was not them; cleared by a password reset."),
    )

    class Meta:
        verbose_name = _("sign-in guard")
        verbose_name_plural = _("sign-in guards")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.failures}"


class SecurityEvent(models.Model):
    """One line of the holder's security history ("Signed in from … at …"). Never a secret."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Unsuccessful sign-in attempt")
        CODE_SENT = "code_sent", _("Security code sent")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        FACTOR_ADDED = "factor_added", _("Sign-in method added")
        FACTOR_REMOVED = "factor_removed", _("Sign-in method removed")
        ACCOUNT_LOCKED = "account_locked", _("Sign-in paused after failed attempts")
        ACTIVATION = "activation", _("Account activated")
        PASSWORD_RESET = "password_reset", _("Password reset")
        METHOD_LOCKED = "method_locked", _("Sign-in method locked")
        METHOD_UNLOCKED = "method_unlocked", _("Sign-in method unlocked")
        REPORT_NOT_ME = "report_not_me", _("Reported as not you")
        MOBILE_CHANGED = "mobile_changed", _("Mobile number changed")
        # A relying party exchanged a code for tokens; `detail` holds the party's id.
        PARTY_SIGN_IN = "party_sign_in", _("Signed in to a connected service")
        # A passkey answered with a signature counter lower than before: it may have been copied.
        PASSKEY_COUNTER = "passkey_counter", _("Passkey refused: it may have been copied")

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="security_events", verbose_name=_("account")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"), default=clock.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True, default="")
    # Which method (sms, totp, recovery, password) or what was changed; a short code, never a value.
    detail = models.CharField(_("detail"), max_length=40, blank=True, default="")
    related_event = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("about")
    )
    reported_at = models.DateTimeField(_("reported as not the holder at"), null=True, blank=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ("-occurred_at", "-id")
        indexes = (models.Index(fields=["user", "-occurred_at"], name="security_event_user_idx"),)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """A signed-in browser, so the holder can see and end it. Its key is Django's session key."""

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="sessions", verbose_name=_("account")
    )
    session_key = models.CharField(_("session key"), max_length=40, unique=True, editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(_("signed in at"), default=clock.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=clock.now)

    class Meta:
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")
        ordering = ("-last_seen_at", "-id")

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class Method(models.TextChoices):
    """Second factors at sign-in."""

    SMS = "sms", _("text message to the mobile number on record")
    TOTP = "totp", _("authenticator app")
    RECOVERY = "recovery", _("recovery code")
    # Not a second factor after a password: a passkey is a sign-in of its own (two factors in one).
    PASSKEY = "passkey", _("passkey")


class MethodLock(models.Model):
    """A sign-in method the holder (or an officer) has locked: it can neither send nor verify."""

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="method_locks", verbose_name=_("account")
    )
    method = models.CharField(
        _("method"),
        max_length=10,
        choices=[(Method.SMS, Method.SMS.label), (Method.TOTP, Method.TOTP.label)],
    )
    locked_at = models.DateTimeField(_("locked at"), default=clock.now)

    class Meta:
        verbose_name = _("locked sign-in method")
        verbose_name_plural = _("locked sign-in methods")
        constraints = (
            models.UniqueConstraint(fields=["user", "method"], name="method_lock_once"),
            models.CheckConstraint(condition=Q(method__in=["sms", "totp"]), name="method_lock_method_valid"),
        )

    def __str__(self) -> str:
        return f"{self.user_id} {self.method}"


class AuthenticatorApp(models.Model):
    """The holder's authenticator app (RFC 6238). Active once confirmed with a valid code.

    `last_used_step` is the 30-second time step of the last accepted code: a code of that step or
    an earlier one is refused, so a code cannot be replayed within its window.
    """

    user = models.OneToOneField(
        "identity.User", on_delete=models.CASCADE, related_name="authenticator_app", verbose_name=_("account")
    )
    # Base32, as pyotp and the apps read it. Verification needs it back, so it is encrypted at rest
    # (never hashed): the column holds a Fernet token, the attribute the clear secret.
    secret = EncryptedTextField(_("secret"), editable=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_step = models.BigIntegerField(_("last time step used"), null=True, blank=True)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def __str__(self) -> str:
        return f"{self.user_id} ({'active' if self.confirmed_at else 'pending'})"


class RecoveryCode(models.Model):
    """One of the holder's ten recovery codes, stored as a keyed hash; each works once."""

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="recovery_codes", verbose_name=_("account")
    )
    code_hash = models.CharField(_("code hash"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = (models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique"),)

    def __str__(self) -> str:
        return f"{self.user_id} ({'used' if self.used_at else 'unused'})"


class Passkey(models.Model):
    """A passkey (WebAuthn public-key credential) of the holder: their phone's or computer's
    fingerprint or face unlock, or a security key. Only the public key is stored; the private key
    and the biometric never leave the device.

    `credential_id` is the authenticator's id, base64url. `user_handle` is the random WebAuthn
    user id given to the authenticator (one per account, never the account id or a name): a
    discoverable passkey answers with it. `sign_count` is the authenticator's signature counter
    (0 for authenticators without one, such as synced passkeys); a counter that goes backwards
    is refused (services/passkeys.py).
    """

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="passkeys", verbose_name=_("account")
    )
    credential_id = models.CharField(_("credential id"), max_length=1400, unique=True, editable=False)
    user_handle = models.CharField(_("user handle"), max_length=100, editable=False)
    public_key = models.BinaryField(_("public key (COSE)"), editable=False)
    sign_count = models.PositiveBigIntegerField(_("signature counter"), default=0)
    transports = models.JSONField(_("transports"), default=list, blank=True)
    name = models.CharField(_("name"), max_length=60)
    aaguid = models.CharField(_("authenticator model (AAGUID)"), max_length=36, blank=True, default="")
    backup_eligible = models.BooleanField(_("can be synced"), default=False)
    backed_up = models.BooleanField(_("synced"), default=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")
        ordering = ("created_at", "id")
        indexes = (models.Index(fields=["user", "created_at"], name="passkey_user_idx"),)

    def __str__(self) -> str:
        return f"{self.user_id} {self.name}"


class PasskeyChallenge(models.Model):
    """A WebAuthn challenge handed to a browser: single use, short-lived. Only its SHA-256 is
    kept; the browser's session keeps the challenge itself. `used_at` is set by one conditional
    UPDATE, so two answers to one challenge cannot both pass."""

    class Purpose(models.TextChoices):
        REGISTRATION = "registration", _("adding a passkey")
        SIGN_IN = "sign_in", _("sign-in")
        REAUTHENTICATION = "reauthentication", _("confirming it is you")

    challenge_hash = models.CharField(_("challenge hash"), max_length=64, unique=True, editable=False)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    user = models.ForeignKey(
        "identity.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("passkey challenge")
        verbose_name_plural = _("passkey challenges")

    def __str__(self) -> str:
        return f"{self.purpose} {self.challenge_hash[:8]}"


class StaffRole(models.TextChoices):
    """What a staff account does. Officers and supervisors belong to one office; administrators
    to none (they see every office). Couriers are API clients (`delivery`), not accounts."""

    OFFICER = "officer", _("Officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")


class StaffMembership(models.Model):
    """A staff account's role and office. The role's Django group carries its permissions
    (migration 0003), which the domain services check through `identity.staff.StaffActor`."""

    user = models.OneToOneField(
        "identity.User", on_delete=models.CASCADE, related_name="staff_membership", verbose_name=_("account")
    )
    role = models.CharField(_("role"), max_length=16, choices=StaffRole.choices)
    office = models.ForeignKey(
        "registry.Office",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("office"),
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        permissions = (
            ("work_cases", _("Work replacement requests at their office")),
            ("counter_identity", _("Re-bind a mobile number or activate an identity at the counter")),
            ("manage_office", _("Change an office's schedule, capacity and holidays")),
            ("view_dashboard", _("See an office's dashboard and export it")),
            ("all_offices", _("Act on every office, not only their own")),
            ("manage_relying_parties", _("Register, change and suspend relying parties")),
            ("manage_staff_security", _("Choose which staff roles must sign in with a passkey")),
        )
        constraints = (
            # Officers and supervisors have exactly one office; administrators none.
            models.CheckConstraint(
                condition=(Q(role="administrator") & Q(office__isnull=True))
                | (Q(role__in=["officer", "supervisor"]) & Q(office__isnull=False)),
                name="staff_membership_office_by_role",
            ),
        )

    def __str__(self) -> str:
        return f"{self.user_id} {self.role}"


class StaffRolePolicy(models.Model):
    """How the members of a staff role must sign in, as an administrator chose it in the
    back-office (identity/services/staff_policy.py). One row per role at most; no row means
    "not required". The server's HAWIYA_STAFF_PASSKEY_ROLES stays a floor this cannot lift
    (selectors.roles_requiring_passkey)."""

    role = models.CharField(_("role"), max_length=16, choices=StaffRole.choices, unique=True)
    passkey_required = models.BooleanField(_("passkey required"), default=False)
    updated_at = models.DateTimeField(_("updated at"), default=clock.now)
    updated_by = models.ForeignKey(
        "identity.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    class Meta:
        verbose_name = _("staff role policy")
        verbose_name_plural = _("staff role policies")

    def __str__(self) -> str:
        return f"{self.role} passkey_required={self.passkey_required}"


class JourneyDraft(models.Model):
    """The answers of a citizen's journey under way (report a loss, request a replacement), kept
    beside the session so that they survive the idle sign-out: `logout()` flushes the session,
    and after signing in again the person finds their answers where they left them.

    One draft per account and journey. It holds only what the session held: answers and the
    journey's idempotency key, and for an uploaded photo the name of the file already stored
    (never its bytes). Deleted when the journey is submitted, and a day after its last answer
    (`identity.drafts.journey_drafts_sweep`, run by `run_periodic`).
    """

    class Journey(models.TextChoices):
        LOSS_REPORT = "loss_report", _("Report a lost document")
        REPLACEMENT = "replacement", _("Request a replacement")

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="journey_drafts", verbose_name=_("account")
    )
    journey = models.CharField(_("journey"), max_length=20, choices=Journey.choices)
    answers = models.JSONField(_("answers"), default=dict)
    updated_at = models.DateTimeField(_("last answered at"), default=clock.now, db_index=True)

    class Meta:
        verbose_name = _("journey draft")
        verbose_name_plural = _("journey drafts")
        constraints = (
            models.UniqueConstraint(fields=["user", "journey"], name="journey_draft_one_per_journey"),
        )

    def __str__(self) -> str:
        return f"{self.user_id} {self.journey}"


# --- Relying parties: banks and agencies that sign citizens in with Hawiya (OpenID Connect) -------


def new_pairwise_salt() -> str:
    """A party's own salt for pairwise subject identifiers (identity/oidc_claims.py)."""
    return secrets.token_urlsafe(32)


class SigningAlgorithm(models.TextChoices):
    """How Hawiya signs a party's ID tokens (OpenID Connect Registration `id_token_signed_response_alg`)
    and the keys it keeps to do so: one active key of each (identity/signing_keys.py)."""

    RS256 = "RS256", _("RS256 (RSA 2048, the default)")
    ES256 = "ES256", _("ES256 (elliptic curve P-256)")


class TokenEndpointAuthMethod(models.TextChoices):
    """How a party proves itself at the token endpoint (OpenID Connect Core §9)."""

    CLIENT_SECRET_BASIC = "client_secret_basic", _("client secret in the Authorization header")
    CLIENT_SECRET_POST = "client_secret_post", _("client secret in the request body")
    PRIVATE_KEY_JWT = "private_key_jwt", _("a JWT signed with the party's own key")


class RelyingParty(models.Model):
    """A bank or agency that signs citizens in with Hawiya: Hawiya's side of an OAuth application.

    The protocol half (client id, hashed secret, redirect URIs, grant type) is
    django-oauth-toolkit's `Application`, one-to-one; the rules half is here: the names shown on
    the consent screen, which scopes it may ask for, its suspension and its pairwise salt (two
    parties never see the same `sub` for one citizen).
    """

    application = models.OneToOneField(
        "oauth2_provider.Application",
        on_delete=models.CASCADE,
        related_name="relying_party",
        verbose_name=_("OAuth application"),
    )
    name_ar = models.CharField(_("name in Arabic"), max_length=120)
    name_en = models.CharField(_("name in English"), max_length=120)
    logo = models.ImageField(_("logo"), upload_to="relying_parties/", blank=True, default="")
    # Scope names (openid, profile, national_id, birthdate, phone, address) the party may ask for.
    allowed_scopes = models.JSONField(_("allowed scopes"), default=list)
    token_endpoint_auth_method = models.CharField(
        _("token endpoint authentication"),
        max_length=20,
        choices=TokenEndpointAuthMethod.choices,
        default=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
    )
    # The party's public keys (a JWK Set) for private_key_jwt; empty otherwise.
    jwks = models.JSONField(_("public keys (JWKS)"), default=dict, blank=True)
    backchannel_logout_uri = models.URLField(_("back-channel logout URI"), blank=True, default="")
    # Its Shared Signals stream (identity/security_signals.py): where Hawiya pushes Security Event
    # Tokens (RFC 8935) and which event types it wants; no endpoint, no stream.
    signals_endpoint = models.URLField(_("security signals push endpoint"), blank=True, default="")
    signals_events = models.JSONField(_("security signal event types"), default=list, blank=True)
    # How its ID tokens (and Logout Tokens) are signed; django-oauth-toolkit's Application.algorithm
    # knows only RS256 and HS256 and is not read.
    id_token_signed_response_alg = models.CharField(
        _("ID-token signing algorithm"),
        max_length=8,
        choices=SigningAlgorithm.choices,
        default=SigningAlgorithm.RS256,
    )
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    pairwise_salt = models.CharField(
        _("pairwise salt"), max_length=64, default=new_pairwise_salt, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=clock.now)

    class Meta:
        verbose_name = _("relying party")
        verbose_name_plural = _("relying parties")
        constraints = (
            models.CheckConstraint(
                condition=Q(
                    token_endpoint_auth_method__in=[
                        "client_secret_basic",
                        "client_secret_post",
                        "private_key_jwt",
                    ]
                ),
                name="relying_party_auth_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(id_token_signed_response_alg__in=["RS256", "ES256"]),
                name="relying_party_id_token_alg_valid",
            ),
        )

    def __str__(self) -> str:
        return self.name_en

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    def display_name(self, language: str) -> str:
        """The party's name in the page's language (Arabic unless English is asked for)."""
        return self.name_en if language == Language.ENGLISH else self.name_ar


class Consent(models.Model):
    """What a citizen agreed to share with a relying party; the next sign-in asks again only for
    scopes not covered here (or when the party sends prompt=consent). Revoking sets revoked_at;
    a new consent is a new row, so the history of what was shared is kept."""

    user = models.ForeignKey(
        "identity.User", on_delete=models.CASCADE, related_name="consents", verbose_name=_("account")
    )
    party = models.ForeignKey(
        RelyingParty, on_delete=models.CASCADE, related_name="consents", verbose_name=_("relying party")
    )
    scopes = models.JSONField(_("scopes"), default=list)
    granted_at = models.DateTimeField(_("granted at"), default=clock.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ("-granted_at", "-id")
        constraints = (
            # At most one live consent per account and party.
            models.UniqueConstraint(
                fields=["user", "party"], condition=Q(revoked_at__isnull=True), name="consent_one_live"
            ),
        )

    def __str__(self) -> str:
        return f"{self.user_id} → {self.party_id}"


class SigningKey(models.Model):
    """A key that signs ID tokens. The newest active key of each algorithm (RS256, ES256) signs;
    retired keys stay published in the JWKS until every token they signed has expired, then
    `manage.py oidc_rotate_key --prune` deletes them. The private key is encrypted at rest
    (HAWIYA_FIELD_KEYS)."""

    Algorithm = SigningAlgorithm

    kid = models.CharField(_("key id"), max_length=64, unique=True, editable=False)
    algorithm = models.CharField(
        _("algorithm"), max_length=8, choices=Algorithm.choices, default=Algorithm.RS256
    )
    private_key_pem = EncryptedTextField(_("private key"), editable=False)
    created_at = models.DateTimeField(_("created at"), default=clock.now)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm})"


class RedeemedCode(models.Model):
    """An authorization code already exchanged, and the tokens it gave: a second exchange of the
    same code revokes them (RFC 6749 §4.1.2). Only the code's SHA-256 is kept."""

    code_hash = models.CharField(_("code hash"), max_length=64, unique=True, editable=False)
    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="+", verbose_name=_("party")
    )
    access_token = models.ForeignKey(
        "oauth2_provider.AccessToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("access token"),
    )
    # The family of the refresh token the exchange gave (django-oauth-toolkit's token_family):
    # rotation replaces the access token above, so a replay revokes through the family.
    token_family = models.UUIDField(_("refresh token family"), null=True, blank=True, editable=False)
    redeemed_at = models.DateTimeField(_("redeemed at"), default=clock.now, db_index=True)

    class Meta:
        verbose_name = _("redeemed authorization code")
        verbose_name_plural = _("redeemed authorization codes")

    def __str__(self) -> str:
        return self.code_hash[:12]


class BackchannelLogout(PushedRow):
    """One Logout Token owed to a party (OpenID Connect Back-Channel Logout 1.0): the citizen signed
    out of Hawiya or withdrew the party's access. An outbox row (core/outbox.py): a worker posts it,
    backs off while the party is down, and gives up after the last attempt."""

    party = models.ForeignKey(
        RelyingParty, on_delete=models.CASCADE, related_name="+", verbose_name=_("relying party")
    )
    # The pairwise `sub` the party knows the citizen by (never the account id).
    subject = models.CharField(_("subject"), max_length=64)

    class Meta:
        verbose_name = _("back-channel logout")
        verbose_name_plural = _("back-channel logouts")
        indexes = (models.Index(fields=["state", "next_attempt_at"], name="bc_logout_due_idx"),)

    def __str__(self) -> str:
        return f"{self.party_id} {self.jti[:8]} {self.state}"


class SecurityEventDelivery(PushedRow):
    """One Security Event Token (RFC 8417) owed to a party's signals stream: a document of a
    citizen connected to it was reported lost or replaced, their password changed, their sessions
    ended, their account locked. An outbox row (core/outbox.py): a worker pushes it (RFC 8935),
    backs off while the party is down, and gives up after the last attempt or a refusal. `jti`
    and `created_at` (the token's `iat`) are the row's, so every attempt sends the same token."""

    party = models.ForeignKey(
        RelyingParty, on_delete=models.CASCADE, related_name="+", verbose_name=_("relying party")
    )
    event_type = models.CharField(_("event type"), max_length=200)
    # The event's own claims (the value under its type in the token's `events`).
    event = models.JSONField(_("event"), default=dict)
    # The pairwise `sub` the party knows the citizen by (never the account id).
    subject = models.CharField(_("subject"), max_length=64)

    class Meta:
        verbose_name = _("security event delivery")
        verbose_name_plural = _("security event deliveries")
        indexes = (models.Index(fields=["state", "next_attempt_at"], name="sec_event_due_idx"),)

    def __str__(self) -> str:
        return f"{self.party_id} {self.jti[:8]} {self.state}"
