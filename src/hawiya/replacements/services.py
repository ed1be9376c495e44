"""Writes of replacement requests: submit (see below) and every move between states.

Each move locks the request's row, checks the move is allowed from the state it finds (so two
concurrent moves cannot both succeed), writes a timeline entry and an audit event, and tells the
applicant (notification centre + SMS) in the same transaction; the SMS leaves after commit.
Payments, appointments and the back-office call these; they never set `state` themselves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import check_same_request, idempotency_key_checked, request_fingerprint
from hawiya.core.references import insert_with_reference
from hawiya.identity.selectors import person_language
from hawiya.losses.models import LossReportItem
from hawiya.notifications.services import notify
from hawiya.notifications.subjects import REPLACEMENT, Subject
from hawiya.registry.models import Document, NationalAddress, Office, Person

from . import errors
from .blockers import delivery_allowed, replacement_blockers
from .entitlement import has_family_link
from .fees import replacement_quote
from .models import ReceiveMethod, Replacement, ReplacementEvent, ReplacementState, allowed_moves
from .photos import CheckedPhoto, photo_checked, upload_digest
from .selectors import SERVICE_OF_KIND, primary_address_for

AUDIT_REPLACEMENT_MOVED = "replacement.moved"
AUDIT_REPLACEMENT_SUBMITTED = "replacement.submitted"
REFERENCE_PREFIX = "RP"


def replacement_subject(replacement: Replacement) -> Subject:
    """What the request's notifications are about (the portal links them to its page)."""
    return Subject(REPLACEMENT, replacement.reference)


def _locked(replacement_id: int) -> Replacement:
    try:
        return (
            Replacement.objects.select_for_update(of=("self",))
            .select_related("applicant", "document")
            .get(pk=replacement_id)
        )
    except Replacement.DoesNotExist:
        raise NotFound(errors.REPLACEMENT_NOT_FOUND, _("This request was not found.")) from None


def replacement_event_add(
    *,
    replacement: Replacement,
    action: str,
    at: dt.datetime,
    office: Office | None = None,
    detail: Mapping[str, object] | None = None,
) -> ReplacementEvent:
    """Add a timeline entry without changing the state (e.g. an appointment moved)."""
    return ReplacementEvent.objects.create(
        replacement=replacement,
        action=action,
        state=replacement.state,
        at=at,
        office=office,
        detail=dict(detail or {}),
    )


def replacement_notify(replacement: Replacement, *, template: str, context: Mapping[str, object]) -> None:
    """Tell the applicant about their request (centre + SMS), in the caller's transaction."""
    applicant = replacement.applicant
    notify(
        person_id=applicant.pk,
        mobile=applicant.mobile,
        language=person_language(person=applicant),
        template=template,
        context={"reference": replacement.reference, **context},
        subject=replacement_subject(replacement),
        subject_ref=f"replacement:{replacement.pk}",
    )


def replacement_move(
    *,
    replacement_id: int,
    to: ReplacementState,
    action: str,
    at: dt.datetime | None = None,
    actor: str,
    actor_role: str = "",
    ip: str | None = None,
    office: Office | None = None,
    detail: Mapping[str, object] | None = None,
    reason: str = "",
    notify_template: str | None = None,
    notify_context: Mapping[str, object] | None = None,
    expected_from: frozenset[str] | None = None,
    actor_office: str = "",
    audit_detail: Mapping[str, object] | None = None,
) -> Replacement:
    """Move a request to state `to`, if the vocabulary allows it from where it is for the way
    the document is received (`allowed_moves(method, state)`: a collection request is never
    dispatched, nor approved without its appointment and biometrics).

    `expected_from` narrows the allowed starting states further (e.g. cancel only before
    processing). Raises ApplicationError `replacement_state_conflict` when the request is
    elsewhere (someone moved it first), NotFound for an unknown id. Must run inside the caller's
    transaction or opens its own. Staff pass `actor_office` and, in `audit_detail`, at least the
    `person_id` of the document's holder (the citizen's "who accessed my data" reads it).
    """
    with transaction.atomic():
        replacement = _locked(replacement_id)
        allowed = allowed_moves(replacement.method, replacement.state)
        if to not in allowed or (expected_from is not None and replacement.state not in expected_from):
            raise ApplicationError(
                errors.REPLACEMENT_STATE_CONFLICT,
                _("This request is now “%(state)s”, so this step is no longer possible.")
                % {"state": replacement.get_state_display()},
            )
        now = at or clock.now()
        previous = replacement.state
        replacement.state = to
        fields = ["state", "updated_at"]
        if not replacement.is_open:
            replacement.ended_at = now
            replacement.end_reason = reason[:500]
            fields += ["ended_at", "end_reason"]
        replacement.save(update_fields=fields)
        event_detail = dict(detail or {})
        if reason:
            event_detail["reason"] = reason[:500]
        replacement_event_add(
            replacement=replacement, action=action, at=now, office=office, detail=event_detail
        )
        audit_record(
            actor=actor,
            actor_role=actor_role,
            actor_office=actor_office,
            ip=ip,
            action=AUDIT_REPLACEMENT_MOVED,
            object_type="replacements.replacement",
            object_id=replacement.pk,
            detail={
                **dict(audit_detail or {}),
                "from": previous,
                "to": ReplacementState(to).value,
                "step": action,
                # The audit trail keeps short codes; the full text stays on the request.
                **({"reason": reason[:120]} if reason else {}),
            },
        )
        if notify_template:
            replacement_notify(replacement, template=notify_template, context=notify_context or {})
    return replacement


# --- Submitting a request ----------------------------------------------------------------------------


def _issuing_office(*, kind: str, address: NationalAddress | None) -> Office | None:
    """An office offering the replacement of `kind`, in the address's city, else its region, else
    anywhere (the first by code, so the choice is stable)."""
    offices = Office.objects.filter(services__code=SERVICE_OF_KIND[kind]).order_by("code")
    if address is not None:
        for narrowed in (offices.filter(city_en=address.city_en), offices.filter(region=address.region)):
            office = narrowed.first()
            if office is not None:
                return office
    return offices.first()


def _locked_document(document_id: int) -> Document:
    try:
        return (
            Document.objects.select_for_update(of=("self",))
            .select_related("holder", "family_record")
            .get(pk=document_id)
        )
    except Document.DoesNotExist:
        raise NotFound(errors.DOCUMENT_NOT_REPLACEABLE, _("This document was not found.")) from None


def _replay(*, applicant: Person, key: str, payload: dict[str, object]) -> Replacement | None:
    existing = Replacement.objects.filter(applicant=applicant, idempotency_key=key).first()
    if existing is not None:
        check_same_request(existing.request_fingerprint, payload)
    return existing


def replacement_submit(
    *,
    applicant: Person,
    document_id: int,
    method: str,
    photo: UploadedFile | None,
    white_background_declared: bool,
    address_confirmed: bool,
    mobile_confirmed: bool,
    idempotency_key: str,
    at: dt.datetime | None = None,
    actor: str,
    actor_role: str = "citizen",
    ip: str | None,
) -> Replacement:
    """Submit a replacement request (طلب بدل فاقد) for a lost document; it then awaits payment.

    Locks the document's row, so two submits for it run one after the other. The same
    idempotency key returns the first request, looked up before anything is checked (a double
    click after the first went through); the same key with other answers is refused.
    Re-runs every pre-check (`replacement_blockers`), checks delivery is allowed and the photo
    (delivery only), snapshots the fee lines, and writes the "submitted" timeline entry, the
    audit event and the applicant's notification in one transaction. Raises ApplicationError
    with the blocker's code (message and `how_to_fix` in `extra`) or a photo/confirmation code;
    NotFound for a document that is missing or has nothing to do with the applicant.
    """
    key = idempotency_key_checked(idempotency_key)
    delivery = method == ReceiveMethod.DELIVERY
    # The photo is named by a hash of the bytes as uploaded, not by checking it: a second click
    # resends the same upload and must find the first request before anything is checked again.
    payload: dict[str, object] = {
        "document_id": int(document_id),
        "method": method,
        "photo": upload_digest(photo) if delivery else "",
        "white_background_declared": bool(white_background_declared),
        "address_confirmed": bool(address_confirmed),
        "mobile_confirmed": bool(mobile_confirmed),
    }
    existing = _replay(applicant=applicant, key=key, payload=payload)
    if existing is not None:
        return existing
    if method not in ReceiveMethod.values:
        raise ApplicationError(
            errors.METHOD_INVALID, _("Choose how you want to receive the document."), field="method"
        )
    checked: CheckedPhoto | None = None
    if delivery and photo is not None:
        checked = photo_checked(photo)
    now = at or clock.now()
    today = now.astimezone(clock.RIYADH).date()
    with transaction.atomic():
        document = _locked_document(int(document_id))
        if not has_family_link(applicant=applicant, document=document):
            raise NotFound(errors.DOCUMENT_NOT_REPLACEABLE, _("This document was not found."))
        # Again under the document's lock: a concurrent submit of the same form may just have won.
        existing = _replay(applicant=applicant, key=key, payload=payload)
        if existing is not None:
            return existing
        blockers = replacement_blockers(applicant=applicant, document=document, method=method, today=today)
        if blockers:
            first = blockers[0]
            raise ApplicationError(
                first.code, first.message, how_to_fix=first.how_to_fix, blockers=[b.code for b in blockers]
            )
        address = primary_address_for(person=applicant)
        if delivery:
            allowed, reason = delivery_allowed(document=document, today=today, applicant=applicant)
            if not allowed:
                raise ApplicationError(errors.DELIVERY_NOT_ALLOWED, reason, field="method")
            if checked is None:
                checked = photo_checked(None)
            if not white_background_declared:
                raise ApplicationError(
                    errors.PHOTO_BACKGROUND_NOT_DECLARED,
                    _("Confirm that the photo has a plain white background."),
                    field="white_background_declared",
                )
        if address is not None and not address_confirmed:
            raise ApplicationError(
                errors.CONFIRMATION_MISSING, _("Confirm your National Address."), field="address_confirmed"
            )
        if applicant.mobile and not mobile_confirmed:
            raise ApplicationError(
                errors.CONFIRMATION_MISSING, _("Confirm your mobile number."), field="mobile_confirmed"
            )
        quote = replacement_quote(applicant=applicant, document=document, method=method, today=today)
        item = LossReportItem.objects.filter(document=document).select_related("report").first()
        replacement = Replacement(
            applicant=applicant,
            document=document,
            loss_report=item.report if item else None,
            method=method,
            state=ReplacementState.AWAITING_PAYMENT,
            office=_issuing_office(kind=document.kind, address=address) if delivery else None,
            delivery_address=address if delivery else None,
            loss_number=quote.loss_number,
            reported_late=quote.reported_late,
            fee_lines=quote.as_json(),
            total_sar=quote.total,
            photo_white_background_declared=bool(white_background_declared) if delivery else False,
            address_confirmed_at=now if address is not None and address_confirmed else None,
            mobile_confirmed_at=now if applicant.mobile and mobile_confirmed else None,
            submitted_at=now,
            idempotency_key=key,
            request_fingerprint=request_fingerprint(payload),
        )
        if delivery and checked is not None:
            # A random name: the file name never carries who the photo shows.
            replacement.photo.save(
                f"{uuid.uuid4().hex}.{checked.extension}", ContentFile(checked.content), save=False
            )
        try:
            insert_with_reference(replacement, prefix=REFERENCE_PREFIX)
        except IntegrityError:
            # A concurrent submit won the race: the same key answers with its request.
            existing = _replay(applicant=applicant, key=key, payload=payload)
            if existing is not None:
                return existing
            raise ApplicationError(
                errors.BLOCKER_OPEN_REQUEST, _("There is already an open request for this document.")
            ) from None
        replacement_event_add(
            replacement=replacement, action="submitted", at=now, office=replacement.office, detail={}
        )
        audit_record(
            actor=actor,
            actor_role=actor_role,
            ip=ip,
            action=AUDIT_REPLACEMENT_SUBMITTED,
            object_type="replacements.replacement",
            object_id=replacement.pk,
            detail={
                "document_id": document.pk,
                "kind": document.kind,
                "method": method,
                "loss_number": quote.loss_number,
                "total_sar": str(quote.total),
            },
        )
        # Nothing to pay: the message says so, never "pay any amount due".
        template = "replacement_submitted" if quote.total else "replacement_submitted_no_fee"
        replacement_notify(replacement, template=template, context={})
    return replacement


def replacement_office_set(*, replacement: Replacement, office: Office) -> None:
    """Record the office that serves a collection request: the one its appointment is at, so the
    back-office finds the request in that office's queue. Runs in the booking's transaction."""
    Replacement.objects.filter(pk=replacement.pk).update(office=office, updated_at=clock.now())
    replacement.office = office
