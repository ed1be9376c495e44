"""Counter identity services (docs/ui.md §6): find the person in front of the officer by ID number,
then re-bind their mobile number or start activating their digital identity, each confirmed by
their fingerprints, which the fingerprint matcher compares with their capture on file.

The ID number never goes into a URL: the person found is kept in the session for this visit
(`COUNTER_SESSION_KEY`). The fingerprints are taken from the scanner when the officer sends the
form (`registry.biometrics.fingerprint_scanner`); in demo mode a checkbox puts "another person's
finger" on the demo scanner, to show a mismatch. Services check the permission again; a
matcher (ABIS) that does not answer is a 502 page with the reason, never a 500.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.casework.counter import counter_biometrics_on_file, counter_person_find, counter_person_get
from hawiya.core.errors import ApplicationError, NotFound, ServiceBusy
from hawiya.core.pdf import qr_data_uri
from hawiya.core.text import mask_id_number
from hawiya.identity.counter import counter_activation_start, counter_mobile_rebind
from hawiya.identity.staff import PERM_COUNTER_IDENTITY, StaffActor, StaffForbidden
from hawiya.registry.biometrics import FingerprintCapture, fingerprint_scanner
from hawiya.registry.models import Person

from .counter_forms import FindPersonForm, RebindMobileForm, StartActivationForm
from .decorators import staff_of, staff_page, staff_required

counter_staff = staff_required(PERM_COUNTER_IDENTITY)

COUNTER_SESSION_KEY = "hawiya_counter_person"
COUNTER_DONE_SESSION_KEY = "hawiya_counter_done"
# A second "start activation" for the same person within this time shows the first result
# instead of sending another code (a double click, a resent form).
ACTIVATION_REPLAY_SECONDS = 300
# Refusals that concern the state of the record rather than the form (409 Conflict).
CONFLICT_CODES = frozenset({"already_activated", "mobile_unchanged", "no_mobile"})
FORBIDDEN_CODES = frozenset({"fingerprint_mismatch"})


def _status(error: ApplicationError) -> int:
    if error.code in CONFLICT_CODES:
        return 409
    if error.code in FORBIDDEN_CODES:
        return 403
    return int(getattr(error, "status_code", 400))


def _person(request: HttpRequest, staff: StaffActor) -> Person | None:
    """The person found earlier in this visit, or None (the officer starts with the ID number)."""
    person_id = request.session.get(COUNTER_SESSION_KEY)
    if not isinstance(person_id, int):
        return None
    try:
        return counter_person_get(staff=staff, person_id=person_id)
    except StaffForbidden:
        raise PermissionDenied from None
    except NotFound:
        request.session.pop(COUNTER_SESSION_KEY, None)
        return None


def _person_context(staff: StaffActor, person: Person) -> dict[str, Any]:
    return {
        "person": person,
        "id_number_masked": mask_id_number(person.id_number),
        "mobile_last_digits": person.mobile[-2:] if person.mobile else "",
        "biometrics_on_file": counter_biometrics_on_file(staff=staff, person_id=person.pk),
    }


def _fingerprints(person: Person, *, other_finger: bool) -> FingerprintCapture:
    """A capture from the workstation's scanner. In demo mode, `other_finger` gives the demo
    scanner another person's hint, so the capture does not match the template on file."""
    hint = f"someone-else:{person.pk}" if other_finger and settings.DEMO else str(person.pk)
    return fingerprint_scanner().capture(subject_hint=hint)


@counter_staff
@require_http_methods(["GET", "HEAD", "POST"])
def counter(request: HttpRequest) -> HttpResponse:
    """Find the person at the counter by ID number (audited), then choose a service."""
    staff = staff_of(request)
    if request.method != "POST":
        if request.GET.get("new") == "1":
            request.session.pop(COUNTER_SESSION_KEY, None)
        person = _person(request, staff)
        context: dict[str, Any] = {"form": FindPersonForm()}
        if person is not None:
            context.update(_person_context(staff, person))
        return staff_page(request, "backoffice/counter/find.html", context)
    form = FindPersonForm(request.POST)
    if form.is_valid():
        try:
            person = counter_person_find(staff=staff, id_number=form.cleaned_data["id_number"])
        except StaffForbidden:
            raise PermissionDenied from None
        except ApplicationError as error:
            form.add_application_error(error)
            if not form.has_error("id_number"):
                form.add_error("id_number", str(error.message))
            return staff_page(request, "backoffice/counter/find.html", {"form": form}, status=_status(error))
        request.session[COUNTER_SESSION_KEY] = person.pk
        request.session.pop(COUNTER_DONE_SESSION_KEY, None)
        return redirect("backoffice:counter")
    return staff_page(request, "backoffice/counter/find.html", {"form": form}, status=400)


@counter_staff
@require_http_methods(["GET", "HEAD", "POST"])
def rebind_mobile(request: HttpRequest) -> HttpResponse:
    """Put a new mobile number on record, once the fingerprints match the ones on file."""
    staff = staff_of(request)
    person = _person(request, staff)
    if person is None:
        return redirect("backoffice:counter")
    context = _person_context(staff, person)
    if request.method != "POST":
        context["form"] = RebindMobileForm(demo=settings.DEMO)
        return staff_page(request, "backoffice/counter/rebind.html", context)
    form = RebindMobileForm(request.POST, demo=settings.DEMO)
    context["form"] = form
    if not form.is_valid():
        return staff_page(request, "backoffice/counter/rebind.html", context, status=400)
    try:
        fingerprints = _fingerprints(person, other_finger=bool(form.cleaned_data.get("other_finger")))
        counter_mobile_rebind(
            staff=staff,
            person_id=person.pk,
            new_mobile=form.cleaned_data["new_mobile"],
            fingerprints=fingerprints,
        )
    except StaffForbidden:
        raise PermissionDenied from None
    except ApplicationError as error:
        form.add_application_error(error)
        return staff_page(request, "backoffice/counter/rebind.html", context, status=_status(error))
    request.session[COUNTER_DONE_SESSION_KEY] = {"service": "mobile", "person": person.pk}
    return redirect("backoffice:counter-done")


@counter_staff
@require_http_methods(["GET", "HEAD", "POST"])
def start_activation(request: HttpRequest) -> HttpResponse:
    """Send the activation code to the mobile on record, once the fingerprints match."""
    staff = staff_of(request)
    person = _person(request, staff)
    if person is None:
        return redirect("backoffice:counter")
    context = _person_context(staff, person)
    if request.method != "POST":
        context["form"] = StartActivationForm(demo=settings.DEMO)
        return staff_page(request, "backoffice/counter/activate.html", context)
    done = request.session.get(COUNTER_DONE_SESSION_KEY)
    if (
        isinstance(done, dict)
        and done.get("service") == "activation"
        and done.get("person") == person.pk
        and time.time() - float(done.get("at", 0)) < ACTIVATION_REPLAY_SECONDS
    ):
        return redirect("backoffice:counter-done")  # a resent form: the code has already gone
    form = StartActivationForm(request.POST, demo=settings.DEMO)
    context["form"] = form
    if not form.is_valid():
        return staff_page(request, "backoffice/counter/activate.html", context, status=400)
    try:
        fingerprints = _fingerprints(person, other_finger=bool(form.cleaned_data.get("other_finger")))
        challenge = counter_activation_start(staff=staff, person_id=person.pk, fingerprints=fingerprints)
    except StaffForbidden:
        raise PermissionDenied from None
    except ServiceBusy as busy:
        # The code could not be sent just now: the same page, to send again in a moment.
        form.add_page_error(busy.message)
        return busy.answer(staff_page(request, "backoffice/counter/activate.html", context))
    except ApplicationError as error:
        form.add_application_error(error)
        return staff_page(request, "backoffice/counter/activate.html", context, status=_status(error))
    request.session[COUNTER_DONE_SESSION_KEY] = {
        "service": "activation",
        "person": person.pk,
        "at": time.time(),
        # Shown once as a QR code: the person opens it on their phone and types the SMS code.
        "challenge": challenge,
    }
    return redirect("backoffice:counter-done")


@counter_staff
@require_safe
def done(request: HttpRequest) -> HttpResponse:
    """The confirmation of the last counter service of this visit."""
    staff = staff_of(request)
    person = _person(request, staff)
    result = request.session.get(COUNTER_DONE_SESSION_KEY)
    if person is None or not isinstance(result, dict) or result.get("person") != person.pk:
        raise Http404("nothing done yet")
    context = _person_context(staff, person)
    context["service"] = result.get("service")
    context["activate_url"] = request.build_absolute_uri(reverse("portal:activate"))
    challenge = result.get("challenge")
    if isinstance(challenge, str) and challenge:
        continue_url = request.build_absolute_uri(reverse("portal:activate-continue", args=[challenge]))
        context["continue_qr"] = qr_data_uri(continue_url)
    return staff_page(request, "backoffice/counter/done.html", context)
