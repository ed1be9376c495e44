"""Paying a bill: the bill page (lines, total, deadline, "Pay"), the demo gateway's pay page
(demo mode only), and the page the gateway sends the person back to.

Only the applicant of the bill's request sees these pages; anyone else gets a 404, as for a bill
that does not exist. The payment itself is recorded only by the gateway's signed callback
(payments.services.payment_callback_apply): coming back to the return page proves nothing.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import idempotency_key_checked
from hawiya.payments.gateways import GatewayError, signature_header, webhook_secret
from hawiya.payments.models import REFUND_GIVEN_UP_STATES, Bill, BillState, CallbackOutcome
from hawiya.payments.selectors import bill_get_for_person, bill_last_callback, bill_lines
from hawiya.payments.services import bill_checkout_url, payment_callback_apply
from hawiya.registry.models import Person
from hawiya.replacements.fees import format_amount
from hawiya.replacements.models import ReceiveMethod
from hawiya.replacements.requirements import at_office

from .decorators import citizen_of, citizen_required, personal_page


def _person(request: HttpRequest) -> Person:
    return citizen_of(request)


def _bill(request: HttpRequest, bill_number: str) -> Bill:
    try:
        return bill_get_for_person(person=_person(request), bill_number=bill_number)
    except NotFound as exc:
        raise Http404(exc.code) from exc


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return personal_page(request, f"portal/payments/{template}", context, status)


def _request_url(bill: Bill) -> str:
    return reverse("portal:requests-detail", kwargs={"reference": bill.replacement.reference})


def _book_url(bill: Bill) -> str:
    return reverse("portal:appointments-new", args=[bill.replacement.reference])


def _shown_state(bill: Bill) -> str:
    """The state the person should see: an issued bill past its deadline is expired already,
    even before the sweeper has run; a refund that failed at the gateway is still being made
    (the finance team pays it back by hand)."""
    if bill.state == BillState.ISSUED and not bill.is_payable:
        return BillState.EXPIRED
    if bill.state in REFUND_GIVEN_UP_STATES:
        return BillState.REFUND_PENDING
    return str(bill.state)


def _context(bill: Bill) -> dict[str, Any]:
    lines = bill_lines(bill=bill)
    refund = bill.refunded_sar if bill.state == BillState.REFUNDED else bill.refund_requested_sar
    return {
        "bill": bill,
        "replacement": bill.replacement,
        "state": _shown_state(bill),
        "state_label": BillState(_shown_state(bill)).label,
        "amount": format_amount(bill.amount_sar),
        "lines": [{"line": line, "amount": format_amount(line.amount)} for line in lines],
        "refunded": format_amount(refund),
        "kept": format_amount(bill.amount_sar - refund),
        "request_url": _request_url(bill),
    }


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def bill(request: HttpRequest, bill_number: str) -> HttpResponse:
    """The bill: what it is for, line by line, the total, the deadline, and "Pay"."""
    found = _bill(request, bill_number)
    if request.method == "POST":
        return_url = request.build_absolute_uri(reverse("portal:payments-return", args=[found.bill_number]))
        try:
            checkout = bill_checkout_url(bill=found, return_url=return_url)
        except GatewayError as exc:
            # No redirect anywhere: the bill page again, saying the payment service failed.
            messages.error(request, str(exc.message))
            return _render(request, "bill.html", _context(found), status=502)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return redirect("portal:payments-bill", bill_number=found.bill_number)
        # The gateway's page is on another site: a plain redirect (https on the gateway's host
        # only, checked by the gateway client).
        return HttpResponseRedirect(checkout)
    return _render(request, "bill.html", _context(found))


@citizen_required
@require_safe
def bill_return(request: HttpRequest, bill_number: str) -> HttpResponse:
    """Back from the gateway: paid (what happens next), declined (try again) or still pending."""
    found = _bill(request, bill_number)
    context = _context(found)
    last = bill_last_callback(bill=found)
    context.update(
        declined=bool(
            last and last.outcome == CallbackOutcome.DECLINED and context["state"] == BillState.ISSUED
        ),
        is_collection=found.replacement.method == ReceiveMethod.COLLECTION,
        at_office=at_office(found.replacement.document.kind),
        book_url=_book_url(found),
    )
    return _render(request, "return.html", context)


@citizen_required
@require_http_methods(["GET", "HEAD", "POST"])
def demo_gateway(request: HttpRequest, bill_number: str) -> HttpResponse:
    """Demo mode only: a stand-in for the gateway's page. "Pay" and "Decline" send the callback
    the real gateway would send, signed with the same secret, through the same service."""
    if not getattr(settings, "DEMO", False):
        raise Http404("demo mode only")
    found = _bill(request, bill_number)
    if not found.is_payable:
        return redirect("portal:payments-return", bill_number=found.bill_number)
    if request.method != "POST":
        return _render(request, "demo.html", {**_context(found), "key": uuid.uuid4().hex})
    outcome = request.POST.get("outcome")
    try:
        key = idempotency_key_checked(request.POST.get("key", ""))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return redirect("portal:payments-demo", bill_number=found.bill_number)
    if outcome not in ("paid", "failed"):
        messages.error(request, _("Choose Pay or Decline."))
        return redirect("portal:payments-demo", bill_number=found.bill_number)
    # One key per page shown: a double click replays the same gateway event, which changes nothing.
    body = json.dumps(
        {
            "event_id": f"demo-{key}-{outcome}",
            "bill_number": found.bill_number,
            "amount_sar": f"{found.amount_sar:.2f}",
            "status": outcome,
            "payment_id": f"demo-{key}",
        }
    ).encode()
    secret = webhook_secret()
    try:
        payment_callback_apply(body=body, signature_header=signature_header(body, secret))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("portal:payments-return", bill_number=found.bill_number)
