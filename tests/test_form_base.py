"""The one form base of the portal and the back-office (core/forms.py), and bidi controls removed
at input (issue 10 §2, §9)."""

from __future__ import annotations

import importlib
import inspect

import pytest
from django import forms
from django.http import QueryDict

from hawiya.backoffice.courier_views import FailedForm
from hawiya.backoffice.forms import RejectForm, StaffSignInForm
from hawiya.core.bidi import BIDI_CONTROLS, strip_bidi_controls
from hawiya.core.forms import HawiyaForm
from hawiya.portal.forms import SignInForm
from hawiya.portal.losses_forms import WhatForm

FORM_MODULES = [
    "hawiya.portal.forms",
    "hawiya.portal.account_forms",
    "hawiya.portal.losses_forms",
    "hawiya.portal.requests_forms",
    "hawiya.portal.appointments_forms",
    "hawiya.backoffice.forms",
    "hawiya.backoffice.counter_forms",
    "hawiya.backoffice.supervisor_forms",
    "hawiya.backoffice.courier_views",
]
# "‮" RIGHT-TO-LEFT OVERRIDE makes "Ahmed" display as "demhA"; "⁦" … "⁩" isolate a run.
SPOOFED = "\u202eAhmed\u202c \u2066Ali\u2069 \u202a\u202b\u202d"


def test_every_page_form_of_both_interfaces_has_the_one_base() -> None:
    forms_found = []
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, forms.Form) and value.__module__ == module_name:
                forms_found.append(value)
                # Mixins add fields to a form built on the base; everything else is built on it.
                assert name.endswith("Mixin") or issubclass(value, HawiyaForm), name

    assert RejectForm in forms_found
    assert SignInForm in forms_found


def test_a_back_office_textarea_is_full_width_like_the_portal_one() -> None:
    reject = str(RejectForm(reasons=[("other", "Other")])["note"])
    courier = str(FailedForm()["reason_text"])
    portal = str(WhatForm()["circumstances"])

    for html in (reject, courier, portal):
        classes = html.split('class="', 1)[1].split('"', 1)[0].split()
        assert "hw-input" in classes  # inline-size: 100%: never wider than a 360-px phone
        assert "hw-textarea" in classes


def test_no_required_attribute_and_no_label_suffix() -> None:
    form = StaffSignInForm()

    assert "required" not in str(form["username"])
    assert form.label_suffix == ""


def test_hint_and_error_are_linked_to_the_field() -> None:
    form = RejectForm(data={"reason": "other", "note": "", "state_seen": "x"}, reasons=[("other", "Other")])
    assert not form.is_valid()

    html = str(form["note"])
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_note_helptext id_note_error"' in html


def test_bidi_controls_are_removed_from_every_text_field_before_validation() -> None:
    form = WhatForm(data={"circumstances": f"Lost it in the market {SPOOFED}"})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["circumstances"] == "Lost it in the market Ahmed Ali"
    assert not BIDI_CONTROLS & set(str(form["circumstances"]))  # the redisplayed value too


def test_bidi_controls_are_removed_from_posted_query_dicts_and_prefixed_forms() -> None:
    data = QueryDict(mutable=True)
    data.setlist("staff-username", [f"{SPOOFED}officer"])
    data["staff-password"] = "x"

    form = StaffSignInForm(data=data, prefix="staff")
    form.is_valid()

    assert form.cleaned_data["username"] == "Ahmed Ali officer"
    assert data.getlist("staff-username") == [f"{SPOOFED}officer"]  # the request's own data is untouched


def test_only_the_reordering_controls_are_removed() -> None:
    # Marks that do not reorder (LRM, RLM, ALM) are legitimate in Arabic text and kept.
    assert strip_bidi_controls("أحمد\u200e\u200f\u061c") == "أحمد\u200e\u200f\u061c"
    assert strip_bidi_controls("".join(sorted(BIDI_CONTROLS))) == ""
    assert len(BIDI_CONTROLS) == 9


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_each_control_is_removed(control: str) -> None:
    form = WhatForm(data={"circumstances": f"in the{control} market"})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["circumstances"] == "in the market"


def test_a_password_is_kept_exactly_as_typed() -> None:
    """Every character may be part of a password: stripping one would turn an existing password
    into another, so the person could no longer sign in."""
    password = f"pass{SPOOFED}word"
    form = SignInForm(data={"login": f"{SPOOFED}1000000016", "password": password})
    form.is_valid()

    assert form.cleaned_data["password"] == password
    assert form.cleaned_data["login"] == "Ahmed Ali 1000000016"
