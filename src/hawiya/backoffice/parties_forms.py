"""The administrators' relying-party form (register and change). Server-side validation only;
the services check every rule again (redirect URIs, scopes, keys, logo)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hawiya.core.forms import LTR_ATTRS, HawiyaForm, name_field
from hawiya.identity.models import RelyingParty, SigningAlgorithm, TokenEndpointAuthMethod
from hawiya.identity.scope_words import ASSIGNABLE_SCOPES, SCOPE_WORDS
from hawiya.identity.security_signals import EVENT_TYPES


class PartyForm(HawiyaForm):
    name_ar = name_field(
        "ar",
        label=_("Name of the service in Arabic"),
        required=_("Enter the service's name in Arabic."),
        too_long=_("A service's name has at most 120 characters."),
    )
    name_en = name_field(
        "en",
        label=_("Name of the service in English"),
        required=_("Enter the service's name in English."),
        too_long=_("A service's name has at most 120 characters."),
    )
    client_id = forms.CharField(
        label=_("Client ID (optional)"),
        help_text=_("Leave it empty and Hawiya makes one. It cannot be changed later."),
        required=False,
        max_length=56,
        widget=forms.TextInput(attrs={"class": "hw-input", "autocomplete": "off", **LTR_ATTRS}),
    )
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"),
        help_text=_("One on each line, exactly as the service sends it, starting https://."),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, **LTR_ATTRS}),
        error_messages={"required": _("Enter at least one redirect URI.")},
    )
    allowed_scopes = forms.MultipleChoiceField(
        label=_("What the service may ask for"),
        choices=[(scope, SCOPE_WORDS[scope]) for scope in ASSIGNABLE_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose the scopes the service may ask for; openid is always needed.")},
    )
    token_endpoint_auth_method = forms.ChoiceField(
        label=_("How the service proves itself"),
        choices=TokenEndpointAuthMethod.choices,
        initial=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how the service proves itself at the token endpoint.")},
    )
    id_token_signed_response_alg = forms.ChoiceField(
        label=_("How Hawiya signs the service's ID tokens"),
        choices=SigningAlgorithm.choices,
        initial=SigningAlgorithm.RS256,
        # Left out: RS256 for a new party, unchanged for one being changed.
        required=False,
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": _(
                "Choose how Hawiya signs the service's ID tokens: RS256 (the default) or ES256."
            ),
        },
    )
    jwks = forms.CharField(
        label=_("Public keys of the service (JWK Set, for a signed JWT only)"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, **LTR_ATTRS}),
    )
    backchannel_logout_uri = forms.CharField(
        label=_("Back-channel logout URI (optional)"),
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={"class": "hw-input", "autocomplete": "off", "inputmode": "url", **LTR_ATTRS}
        ),
    )
    signals_endpoint = forms.CharField(
        label=_("Security signals endpoint (optional)"),
        help_text=_("Where Hawiya pushes signed security events about the citizens who use the service."),
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={"class": "hw-input", "autocomplete": "off", "inputmode": "url", **LTR_ATTRS}
        ),
    )
    signals_events = forms.MultipleChoiceField(
        label=_("Security events the service receives"),
        choices=list(EVENT_TYPES.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose security events from the list.")},
    )
    logo = forms.FileField(
        label=_("Logo (optional)"),
        help_text=_("A PNG or JPEG image of at most 512 KB, shown on the consent screen."),
        required=False,
        widget=forms.ClearableFileInput(attrs={"class": "hw-file-upload", "accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(
        label=_("Remove the logo"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "hw-checkbox__input"}),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["client_id"]
        else:
            del self.fields["remove_logo"]

    @staticmethod
    def initial_from(party: RelyingParty) -> dict[str, Any]:
        return {
            "name_ar": party.name_ar,
            "name_en": party.name_en,
            "redirect_uris": "\n".join(party.application.redirect_uris.split()),
            "allowed_scopes": list(party.allowed_scopes),
            "token_endpoint_auth_method": party.token_endpoint_auth_method,
            "jwks": "" if not party.jwks else json.dumps(party.jwks, indent=2),
            "backchannel_logout_uri": party.backchannel_logout_uri,
            "id_token_signed_response_alg": party.id_token_signed_response_alg,
            "signals_endpoint": party.signals_endpoint,
            "signals_events": list(party.signals_events),
        }

    def service_arguments(self) -> dict[str, Any]:
        """The cleaned answers as the party services take them (after `is_valid()`)."""
        data = self.cleaned_data
        arguments: dict[str, Any] = {
            "name_ar": data["name_ar"],
            "name_en": data["name_en"],
            "redirect_uris": data["redirect_uris"].splitlines(),
            "allowed_scopes": data["allowed_scopes"],
            "token_endpoint_auth_method": data["token_endpoint_auth_method"],
            "id_token_signed_response_alg": data.get("id_token_signed_response_alg") or None,
            "jwks": data.get("jwks") or None,
            "backchannel_logout_uri": data.get("backchannel_logout_uri") or "",
            "logo": data.get("logo") or None,
            "signals_endpoint": data.get("signals_endpoint") or "",
            "signals_events": list(data.get("signals_events") or []),
        }
        if "client_id" in self.fields:
            arguments["client_id"] = data.get("client_id") or None
        if "remove_logo" in self.fields:
            arguments["remove_logo"] = bool(data.get("remove_logo"))
        return arguments
