"""Admin for accounts and their security state.

Security rows are read-only here: they change through the services only. Hashes and the
authenticator secret are never shown; one-time codes, recovery codes and authenticator apps are
not registered at all.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError

from .models import (
    MethodLock,
    RelyingParty,
    SecurityEvent,
    SecurityEventDelivery,
    SigningAlgorithm,
    SignInGuard,
    TokenEndpointAuthMethod,
    User,
    UserSession,
)
from .scope_words import ASSIGNABLE_SCOPES, SCOPE_WORDS
from .services import relying_parties as party_services
from .services.relying_parties import PartyWithSecret
from .staff import StaffForbidden


@admin.register(User)
class AccountAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "person", "is_staff", "is_active", "last_login")
    list_select_related = ("person",)
    raw_id_fields = ("person",)
    search_fields = ("username", "person__id_number")
    readonly_fields = ("password_changed_at",)
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Digital identity"), {"fields": ("person", "preferred_language", "password_changed_at")}),
    )


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "user", "kind", "detail", "ip", "reported_at")
    list_filter = ("kind",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__person__id_number")
    date_hierarchy = "occurred_at"


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin):
    list_display = ("user", "created_at", "last_seen_at", "ip")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    exclude = ("session_key",)


@admin.register(SignInGuard)
class SignInGuardAdmin(ReadOnlyAdmin):
    list_display = ("user", "failures", "last_failure_at", "locked_until", "blocked_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)


@admin.register(MethodLock)
class MethodLockAdmin(ReadOnlyAdmin):
    list_display = ("user", "method", "locked_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)


@admin.register(SecurityEventDelivery)
class SecurityEventDeliveryAdmin(ReadOnlyAdmin):
    """The security events owed to parties' signals streams: which are pending, sent, given up."""

    list_display = ("created_at", "party", "event_type", "state", "attempts", "last_error_code", "sent_at")
    list_filter = ("state", "event_type")
    list_select_related = ("party",)
    search_fields = ("=jti", "=party__application__client_id")
    date_hierarchy = "created_at"


# --- Relying parties -----------------------------------------------------------------------------

# The role the audit trail gives a change made in the admin site (no office: the admin is central).
ADMIN_SITE_ROLE = "staff"


def _admin_actor(request: HttpRequest) -> Actor:
    """Who acts in the admin site: the signed-in account (the admin requires one)."""
    user_id = request.user.pk
    if user_id is None:
        raise PermissionDenied
    return Actor.staff(int(user_id), role=ADMIN_SITE_ROLE, office_code="", ip=request.META.get("REMOTE_ADDR"))


class RelyingPartyAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """The party's fields, and its redirect URIs (kept on django-oauth-toolkit's application);
    saving goes through the services, which check every rule again."""

    client_id = forms.CharField(
        label=_("Client ID (optional)"),
        required=False,
        max_length=56,
        help_text=_("Leave it empty and Hawiya makes one. It cannot be changed later."),
    )
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
        help_text=_("One on each line, exactly as the service sends it, starting https://."),
    )
    allowed_scopes = forms.MultipleChoiceField(
        label=_("What the service may ask for"),
        choices=[(scope, SCOPE_WORDS[scope]) for scope in ASSIGNABLE_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )
    jwks = forms.CharField(
        label=_("Public keys of the service (JWK Set, for a signed JWT only)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "dir": "ltr"}),
    )
    id_token_signed_response_alg = forms.ChoiceField(
        label=_("How Hawiya signs the service's ID tokens"),
        choices=SigningAlgorithm.choices,
        initial=SigningAlgorithm.RS256,
        required=False,  # left out: RS256 for a new party, unchanged for one being changed
    )
    # Checked by the service (https, or http on this machine only).
    backchannel_logout_uri = forms.CharField(label=_("Back-channel logout URI (optional)"), required=False)

    class Meta:
        model = RelyingParty
        fields = (
            "name_ar",
            "name_en",
            "logo",
            "allowed_scopes",
            "token_endpoint_auth_method",
            "id_token_signed_response_alg",
            "jwks",
            "backchannel_logout_uri",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        party = self.instance
        if party.pk:
            self.fields.pop("client_id", None)
            self.initial["redirect_uris"] = "\n".join(party.application.redirect_uris.split())
            self.initial["jwks"] = json.dumps(party.jwks, indent=2) if party.jwks else ""

    request: HttpRequest | None = None
    result: PartyWithSecret | None = None

    def clean_jwks(self) -> str:
        return str(self.cleaned_data.get("jwks") or "")

    def clean(self) -> dict[str, Any]:
        """Register or change the party through the services, so that a rule they refuse shows
        on the form (the admin saves nothing itself)."""
        cleaned = super().clean() or {}
        if self.errors or self.request is None:
            return cleaned
        arguments: dict[str, Any] = {
            "name_ar": cleaned.get("name_ar", ""),
            "name_en": cleaned.get("name_en", ""),
            "redirect_uris": str(cleaned.get("redirect_uris", "")).splitlines(),
            "allowed_scopes": cleaned.get("allowed_scopes", []),
            "token_endpoint_auth_method": cleaned.get("token_endpoint_auth_method", ""),
            "id_token_signed_response_alg": cleaned.get("id_token_signed_response_alg") or None,
            "jwks": cleaned.get("jwks") or None,
            "backchannel_logout_uri": cleaned.get("backchannel_logout_uri") or "",
            "logo": self.files.get("logo"),
        }
        actor = _admin_actor(self.request)
        try:
            if self.instance.pk:
                self.result = party_services.party_update(
                    actor=actor,
                    party_id=self.instance.pk,
                    remove_logo=cleaned.get("logo") is False,
                    **arguments,
                )
            else:
                self.result = party_services.party_register(
                    actor=actor, client_id=cleaned.get("client_id") or None, **arguments
                )
        except StaffForbidden:
            raise PermissionDenied from None
        except ApplicationError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc.message))
        return cleaned


@admin.action(
    description=_("Suspend the selected services (their tokens stop working)"), permissions=["change"]
)
def suspend_parties(
    modeladmin: admin.ModelAdmin[RelyingParty], request: HttpRequest, queryset: QuerySet[RelyingParty]
) -> None:
    _each(modeladmin, request, queryset, party_services.party_suspend, _("Services suspended: %(count)d."))


@admin.action(description=_("Resume the selected services"), permissions=["change"])
def resume_parties(
    modeladmin: admin.ModelAdmin[RelyingParty], request: HttpRequest, queryset: QuerySet[RelyingParty]
) -> None:
    _each(modeladmin, request, queryset, party_services.party_resume, _("Services resumed: %(count)d."))


@admin.action(description=_("Make a new client secret for the selected services"), permissions=["change"])
def rotate_secrets(
    modeladmin: admin.ModelAdmin[RelyingParty], request: HttpRequest, queryset: QuerySet[RelyingParty]
) -> None:
    for party_id in queryset.values_list("pk", flat=True):
        try:
            result = party_services.party_rotate_secret(actor=_admin_actor(request), party_id=party_id)
        except ApplicationError as exc:
            modeladmin.message_user(request, str(exc.message), messages.WARNING)
        else:
            _show_secret(modeladmin, request, result)


def _each(
    modeladmin: admin.ModelAdmin[RelyingParty],
    request: HttpRequest,
    queryset: QuerySet[RelyingParty],
    change: Any,
    done: Any,
) -> None:
    count = 0
    for party_id in queryset.values_list("pk", flat=True):
        try:
            change(actor=_admin_actor(request), party_id=party_id)
        except ApplicationError as exc:
            modeladmin.message_user(request, str(exc.message), messages.WARNING)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done % {"count": count}, messages.SUCCESS)


def _show_secret(
    modeladmin: admin.ModelAdmin[RelyingParty], request: HttpRequest, result: PartyWithSecret
) -> None:
    """The new secret, once, in the message after the save; only its hash is kept."""
    if result.client_secret:
        modeladmin.message_user(
            request,
            _("Client secret of %(client_id)s, shown only this once: %(secret)s")
            % {"client_id": result.party.application.client_id, "secret": result.client_secret},
            messages.WARNING,
        )


@admin.register(RelyingParty)
class RelyingPartyAdmin(admin.ModelAdmin[RelyingParty]):
    """Relying parties: registered and changed through the services (audited), suspended,
    resumed or given a new secret with the actions; never deleted (suspend instead). The client
    secret is read-only: stored hashed, shown once when it is made."""

    form = RelyingPartyAdminForm
    list_display = (
        "name_en",
        "name_ar",
        "client_id",
        "token_endpoint_auth_method",
        "is_suspended",
        "created_at",
    )
    list_select_related = ("application",)
    list_filter = (("suspended_at", admin.EmptyFieldListFilter), "token_endpoint_auth_method")
    search_fields = ("name_en", "name_ar", "=application__client_id")
    readonly_fields = ("client_id", "client_secret", "suspended_at", "created_at")
    actions = (suspend_parties, resume_parties, rotate_secrets)

    @admin.display(description=_("client ID"), ordering="application__client_id")
    def client_id(self, party: RelyingParty) -> str:
        return party.application.client_id if party.pk else ""

    @admin.display(description=_("client secret"))
    def client_secret(self, party: RelyingParty) -> str:
        if party.pk and party.token_endpoint_auth_method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT:
            return str(_("None: the service signs with its own key."))
        return str(_("Stored hashed; shown once when it is made."))

    @admin.display(description=_("suspended"), boolean=True, ordering="suspended_at")
    def is_suspended(self, party: RelyingParty) -> bool:
        return party.suspended_at is not None

    def get_fields(self, request: HttpRequest, obj: RelyingParty | None = None) -> Any:
        fields = ["name_ar", "name_en", "logo", "redirect_uris", "allowed_scopes"]
        fields += [
            "token_endpoint_auth_method",
            "id_token_signed_response_alg",
            "jwks",
            "backchannel_logout_uri",
        ]
        if obj is None:
            return ["client_id", *fields]
        return ["client_id", "client_secret", *fields, "suspended_at", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: RelyingParty | None = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # The form saves through the services as the signed-in account (see its `clean`).
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request: HttpRequest, obj: RelyingParty, form: Any, change: bool) -> None:
        """The form's services saved the party already (audited); adopt it and show its secret."""
        result: PartyWithSecret = form.result
        obj.pk, obj.application = result.party.pk, result.party.application
        obj._state.adding = False
        _show_secret(self, request, result)

    def has_delete_permission(self, request: HttpRequest, obj: RelyingParty | None = None) -> bool:
        # A party is suspended, never deleted: its audit trail and its citizens' consents stay.
        return False
