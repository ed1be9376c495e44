"""Track my requests and request a replacement, through the test client: the journey page by page,
double submits, someone else's request (404 on every URL), cancelling, and the PDFs (pypdf)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from hawiya.core import clock
from hawiya.identity import services
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.registry.models import CivilFine
from hawiya.registry.tests.factories import make_address
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.tests.factories import lost_id_card, photo_bytes, service_office, submit

from .html import find_all

pytestmark = pytest.mark.django_db
IP = "192.0.2.10"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def url(name: str, *args: Any, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", args=args)


def sign_in(client: Client, user: User) -> None:
    client.force_login(user)
    session = client.session
    session.save()
    assert session.session_key
    services.user_session_record(user=user, session_key=session.session_key, ip=IP, user_agent="test")


def citizen(*, address: bool = True, **fields: Any) -> User:
    fields.setdefault("biometrics_captured_on", clock.today() - dt.timedelta(days=300))
    user = make_account(**fields)
    if address:
        make_address(person_of(user))
    return user


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def walk_to_check(
    client: Client, document_id: int, *, method: str = "collection", language: str = "en"
) -> Any:
    response = client.post(url("requests-new", language=language), {"document": document_id})
    assert response.status_code == 302
    assert response["Location"] == url("requests-new-checks", language=language)
    assert client.get(url("requests-new-checks", language=language)).status_code == 200
    response = client.post(
        url("requests-new-contact", language=language), {"address_confirmed": "on", "mobile_confirmed": "on"}
    )
    assert response["Location"] == url("requests-new-method", language=language)
    response = client.post(url("requests-new-method", language=language), {"method": method})
    if method == "delivery":
        assert response["Location"] == url("requests-new-photo", language=language)
        photo = io.BytesIO(photo_bytes())
        photo.name = "me.jpg"
        response = client.post(
            url("requests-new-photo", language=language), {"photo": photo, "white_background_declared": "on"}
        )
    assert response["Location"] == url("requests-new-check", language=language)
    return client.get(url("requests-new-check", language=language))


# --- The journey --------------------------------------------------------------------------------


def test_collection_journey_explains_the_fee_and_submits_once(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user), losses=2, office=service_office())
    sign_in(client, user)
    page = walk_to_check(client, document.pk)
    assert page.status_code == 200
    assert "This is your second loss of this card: SAR 100 fine." in text(page)
    response = client.post(url("requests-new-check"))
    replacement = Replacement.objects.get()
    assert response["Location"] == url("requests-detail", replacement.reference)
    # A second click (or the Back button and submit again) finds the same request.
    again = client.post(url("requests-new-check"))
    assert again["Location"] == url("requests-detail", replacement.reference)
    assert Replacement.objects.count() == 1
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    body = text(detail)
    assert replacement.reference in body
    assert "Awaiting payment" in body
    assert "Request submitted" in body
    assert "your fingerprints and a photo are taken for the new card" in body
    assert "You receive the card 15 days later" in body
    assert "personal photos, 4×6 cm" in body


def test_delivery_journey_in_arabic_shows_fine_and_delivery_fee(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user), losses=2, office=service_office())
    sign_in(client, user)
    page = walk_to_check(client, document.pk, method="delivery", language="ar")
    body = text(page)
    assert "هذا فقدانك الثاني لهذه البطاقة: غرامة 100 ريال + رسوم توصيل 35 ريال." in body
    assert "135 ريال" in body
    response = client.post(url("requests-new-check", language="ar"))
    assert response.status_code == 302
    replacement = Replacement.objects.get()
    assert replacement.method == "delivery"
    assert replacement.photo.name
    assert replacement.total_sar == Decimal(135)


def test_submitting_a_request_with_nothing_to_pay_applies_it_straight_to_paid(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user), office=service_office())
    sign_in(client, user)
    walk_to_check(client, document.pk)
    response = client.post(url("requests-new-check"))
    replacement = Replacement.objects.get()
    assert response.status_code == 302
    assert replacement.document_id == document.pk
    # A first loss collected at an office costs nothing: casework skips the bill.
    assert replacement.total_sar == 0
    assert replacement.state == "paid"
    assert not hasattr(replacement, "bill")


def test_pre_checks_explain_a_blocker_and_offer_no_way_forward(client):
    user = citizen()
    person = person_of(user)
    document = lost_id_card(holder=person)
    CivilFine.objects.create(
        person=person,
        amount_sar=Decimal(100),
        reason_ar="تأخير تجديد",
        reason_en="Late renewal",
        issued_on=clock.today(),
    )
    sign_in(client, user)
    client.post(url("requests-new"), {"document": document.pk})
    page = client.get(url("requests-new-checks"))
    body = text(page)
    assert "unpaid civil-affairs fines of SAR 100" in body
    assert "How to fix it:" in body
    assert url("requests-new-contact") not in page.content.decode()
    # Skipping ahead does not help.
    assert client.get(url("requests-new-contact"))["Location"] == url("requests-new-checks")


def test_contact_page_requires_both_confirmations(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user))
    sign_in(client, user)
    client.post(url("requests-new"), {"document": document.pk})
    response = client.post(url("requests-new-contact"), {})
    assert response.status_code == 400
    body = text(response)
    assert body.count("Confirm your National Address") >= 2
    assert "There is a problem" in body
    assert "RRRD2929" in body


def test_delivery_shown_unavailable_with_the_reason_when_biometrics_are_old(client):
    user = citizen(biometrics_captured_on=clock.today() - dt.timedelta(days=6 * 366))
    document = lost_id_card(holder=person_of(user))
    sign_in(client, user)
    client.post(url("requests-new"), {"document": document.pk})
    client.post(url("requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"})
    page = client.get(url("requests-new-method"))
    [delivery] = [
        el for el in find_all(page.content.decode(), "input") if el.attrs.get("value") == "delivery"
    ]
    assert "disabled" in delivery.attrs
    assert "more than 5 years old" in text(page)
    refused = client.post(url("requests-new-method"), {"method": "delivery"})
    assert refused.status_code == 400
    assert "There is a problem" in text(refused)


def test_a_bad_photo_is_refused_on_the_photo_page(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user))
    sign_in(client, user)
    client.post(url("requests-new"), {"document": document.pk})
    client.post(url("requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"})
    client.post(url("requests-new-method"), {"method": "delivery"})
    for content, message in (
        (b"%PDF-1.4 not a photo", "must be a JPEG or PNG image"),
        (photo_bytes(400, 500), "at least 600 pixels wide"),
    ):
        upload = io.BytesIO(content)
        upload.name = "me.jpg"
        response = client.post(
            url("requests-new-photo"), {"photo": upload, "white_background_declared": "on"}
        )
        assert response.status_code == 400
        assert message in text(response)


def test_no_lost_document_offers_the_loss_journey(client):
    user = citizen()
    from hawiya.registry.tests.factories import make_document

    make_document(holder=person_of(user))
    sign_in(client, user)
    page = client.get(url("requests-new"))
    assert page.status_code == 200
    assert "You have no lost document to replace" in text(page)


def test_requests_list_shows_requests_with_status_and_an_empty_state(client):
    user = citizen()
    sign_in(client, user)
    assert "You have no replacement requests yet." in text(client.get(url("requests-list")))
    replacement = submit(applicant=person_of(user), document=lost_id_card(holder=person_of(user)))
    body = text(client.get(url("requests-list")))
    assert replacement.reference in body
    assert "Awaiting payment" in body


def test_start_pages_lead_to_the_journeys(client):
    assert url("requests-new") in client.get(url("service-start", "request-replacement")).content.decode()
    assert url("requests-list") in client.get(url("service-start", "track-requests")).content.decode()


# --- One request: ownership, cancel, PDFs ----------------------------------------------------------------

REQUEST_URLS = ["requests-detail", "requests-form58", "requests-receipt", "requests-cancel"]


@pytest.mark.parametrize("name", REQUEST_URLS)
def test_someone_elses_request_is_not_found(client, name):
    owner = citizen()
    replacement = submit(applicant=person_of(owner), document=lost_id_card(holder=person_of(owner)))
    sign_in(client, citizen())
    assert client.get(url(name, replacement.reference)).status_code == 404
    assert client.get(url(name, "RP00000000")).status_code == 404
    assert client.get(url(name, "not-a-ref")).status_code == 404
    if name == "requests-cancel":
        assert client.post(url(name, replacement.reference), {"reason": "other"}).status_code == 404
        assert Replacement.objects.get().state == ReplacementState.AWAITING_PAYMENT


def test_someone_elses_document_cannot_start_a_journey(client):
    owner = citizen()
    document = lost_id_card(holder=person_of(owner))
    sign_in(client, citizen())
    response = client.post(url("requests-new"), {"document": document.pk})
    assert response.status_code == 400
    assert "There is a problem" in text(response)
    page = client.get(url("requests-new") + f"?document={document.pk}")
    assert f'value="{document.pk}"' not in page.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "requests-list",
        "requests-new",
        "requests-new-checks",
        "requests-new-contact",
        "requests-new-method",
        "requests-new-photo",
        "requests-new-check",
    ],
)
def test_signed_out_people_are_sent_to_sign_in(client, name):
    response = client.get(url(name))
    assert response.status_code == 302
    assert "sign-in" in response["Location"]


def test_journey_pages_without_answers_start_again(client):
    sign_in(client, citizen())
    for name in ("requests-new-checks", "requests-new-contact", "requests-new-method", "requests-new-photo"):
        assert client.get(url(name))["Location"] == url("requests-new")


def test_cancel_asks_for_a_reason_then_cancels(client):
    user = citizen()
    replacement = submit(applicant=person_of(user), document=lost_id_card(holder=person_of(user)))
    sign_in(client, user)
    page = client.get(url("requests-cancel", replacement.reference))
    assert page.status_code == 200
    refused = client.post(url("requests-cancel", replacement.reference), {})
    assert refused.status_code == 400
    assert "Choose why you are cancelling" in text(refused)
    done = client.post(url("requests-cancel", replacement.reference), {"reason": "found_document"})
    assert done["Location"] == url("requests-detail", replacement.reference)
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.CANCELLED
    detail = text(client.get(done["Location"]))
    assert "Request cancelled" in detail
    assert "I found my document" in detail
    assert url("requests-cancel", replacement.reference) not in detail


def pdf_text(response: Any) -> str:
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )
    return " ".join(page.extract_text() for page in reader.pages)


def test_form_58_is_in_arabic_with_the_name_and_reference(client):
    user = citizen()
    person = person_of(user)
    replacement = submit(applicant=person, document=lost_id_card(holder=person))
    sign_in(client, user)
    content = pdf_text(client.get(url("requests-form58", replacement.reference)))
    assert replacement.reference in content
    assert person.id_number in content
    assert "58" in content
    for part in ("محمد", "العتيبي"):
        assert part in content


def test_receipt_names_the_request(client):
    user = citizen()
    person = person_of(user)
    replacement = submit(applicant=person, document=lost_id_card(holder=person))
    sign_in(client, user)
    content = pdf_text(client.get(url("requests-receipt", replacement.reference, language="ar")))
    assert replacement.reference in content
    assert "العتيبي" in content


# --- Fixes: invalid answers, double clicks, the address on the PDFs, the audit role ------------------


def test_invalid_answers_in_the_journey_answer_400(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user))
    sign_in(client, user)
    for value in ("1e9", "abc", str(2**70)):
        response = client.post(url("requests-new"), {"document": value})
        assert response.status_code == 400
        assert "There is a problem" in text(response)
    client.post(url("requests-new"), {"document": document.pk})
    client.post(url("requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"})
    assert client.post(url("requests-new-method"), {"method": "by-pigeon"}).status_code == 400
    client.post(url("requests-new-method"), {"method": "delivery"})
    not_an_image = io.BytesIO(b"%PDF-1.4 not a photo")
    not_an_image.name = "me.jpg"
    response = client.post(
        url("requests-new-photo"), {"photo": not_an_image, "white_background_declared": "on"}
    )
    assert response.status_code == 400
    assert "must be a JPEG or PNG image" in text(response)


def test_a_second_delivery_click_after_the_first_dropped_the_photo_finds_the_same_request(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user), losses=2, office=service_office())
    sign_in(client, user)
    walk_to_check(client, document.pk, method="delivery")
    # The second click's session was read before the first click finished: no reference yet.
    before = dict(client.session["hawiya_replacement_journey"])

    first = client.post(url("requests-new-check"))
    replacement = Replacement.objects.get()
    assert first["Location"] == url("requests-detail", replacement.reference)
    session = client.session
    session["hawiya_replacement_journey"] = before
    session.save()
    second = client.post(url("requests-new-check"), follow=True)

    assert second.redirect_chain[0][0] == url("requests-detail", replacement.reference)
    body = text(second)
    assert "Your request is submitted." in body
    assert "different answers" not in body
    assert Replacement.objects.count() == 1


def test_a_second_click_on_cancel_confirms_the_cancellation(client):
    user = citizen()
    replacement = submit(applicant=person_of(user), document=lost_id_card(holder=person_of(user)))
    sign_in(client, user)
    client.post(url("requests-cancel", replacement.reference), {"reason": "found_document"})

    again = client.post(
        url("requests-cancel", replacement.reference), {"reason": "found_document"}, follow=True
    )

    assert again.redirect_chain[0][0] == url("requests-detail", replacement.reference)
    body = text(again)
    assert "Your request is cancelled." in body
    assert "can no longer be cancelled" not in body


def test_the_pdfs_show_the_applicants_address_not_the_holders_current_one(client):
    from hawiya.registry.models import DocumentKind, Relation
    from hawiya.registry.tests.factories import make_family_record, make_person
    from hawiya.replacements.tests.factories import lost_document

    user = citizen()
    head = person_of(user)
    child = make_person(
        first_name_en="Fahad", date_of_birth=clock.today() - dt.timedelta(days=10 * 365), mobile=""
    )
    make_address(child, building_number="4141", short_address="RRRD4141")
    make_family_record(head=head, members=[(child, Relation.SON)])
    birth = lost_document(holder=child, kind=DocumentKind.BIRTH_CERTIFICATE)
    replacement = submit(applicant=head, document=birth)
    sign_in(client, user)

    for name in ("requests-form58", "requests-receipt"):
        content = pdf_text(client.get(url(name, replacement.reference)))
        assert "RRRD4141" not in content
        assert replacement.reference in content
    assert "RRRD2929" in pdf_text(client.get(url("requests-form58", replacement.reference)))


def test_a_request_submitted_from_the_portal_is_audited_as_the_citizens(client):
    from hawiya.audit.models import AuditEvent

    user = citizen()
    document = lost_id_card(holder=person_of(user), losses=2, office=service_office())
    sign_in(client, user)
    walk_to_check(client, document.pk)
    client.post(url("requests-new-check"))

    event = AuditEvent.objects.get(action="replacement.submitted")
    assert event.actor == f"user:{user.pk}"
    assert event.actor_role == "citizen"


def test_a_photo_deleted_between_the_check_and_the_read_is_treated_as_gone(monkeypatch) -> None:
    from django.core.files.storage import default_storage

    from hawiya.portal.requests_views import _photo_upload

    # A concurrent first click may delete the upload at any moment, even right after it was
    # seen to exist: never a 500.
    monkeypatch.setattr(default_storage, "exists", lambda name: True)
    assert _photo_upload({"photo": {"name": "replacement-uploads/already-deleted.jpg"}}) is None


def test_the_delivery_address_keeps_its_codes_left_to_right_in_arabic(client):
    user = citizen()
    document = lost_id_card(holder=person_of(user), losses=2, office=service_office())
    sign_in(client, user)
    walk_to_check(client, document.pk, method="delivery")
    check_page = client.get(url("requests-new-check")).content.decode()
    client.post(url("requests-new-check"))
    replacement = Replacement.objects.get()
    address = replacement.delivery_address
    assert address is not None

    detail = client.get(url("requests-detail", replacement.reference)).content.decode()

    # The same rendering as the account page: postal and additional numbers isolated, so an
    # Arabic line does not reorder "12345-8538" into "8538-12345".
    codes = f'<bdi dir="ltr">{address.postal_code}-{address.additional_number}</bdi>'
    assert codes in check_page
    assert codes in detail
    assert f'<bdi dir="ltr">{address.short_address}</bdi>' in detail


def summary_targets(response: Any) -> list[Any]:
    """What each error-summary link points at: the element with that id (without JS, the jump)."""
    content = response.content.decode()
    summary = content.split('class="hw-error-summary"', 1)[1].split("</div>", 1)[0]
    ids = [a.attrs["href"].removeprefix("#") for a in find_all(summary, "a")]
    return [next(el for el in find_all(content) if el.attrs.get("id") == one) for one in ids]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_error_summary_links_point_at_the_first_radio_of_the_group(client, language):
    user = citizen()
    document = lost_id_card(holder=person_of(user))
    sign_in(client, user)

    [target] = summary_targets(client.post(url("requests-new", language=language), {}))
    assert (target.tag, target.attrs["type"], target.attrs["value"]) == ("input", "radio", str(document.pk))

    client.post(url("requests-new", language=language), {"document": document.pk})
    client.post(
        url("requests-new-contact", language=language), {"address_confirmed": "on", "mobile_confirmed": "on"}
    )
    [target] = summary_targets(client.post(url("requests-new-method", language=language), {}))
    assert (target.tag, target.attrs["type"], target.attrs["value"]) == ("input", "radio", "collection")


def caption(response: Any) -> str:
    [element] = [
        p for p in find_all(response.content.decode(), "p") if "hw-caption" in p.attrs.get("class", "")
    ]
    return element.text


def steps(language: str, *pairs: tuple[int, int]) -> list[str]:
    if language == "ar":
        return [f"طلب بدل فاقد – الخطوة {number} من {count}" for number, count in pairs]
    return [f"Request a replacement – step {number} of {count}" for number, count in pairs]


@pytest.mark.parametrize(
    ("method", "language", "expected"),
    [
        ("collection", "en", steps("en", (1, 5), (2, 5), (3, 5), (4, 5), (5, 5))),
        # Choosing delivery adds the photo: the count says so from the photo page on.
        ("delivery", "en", steps("en", (1, 5), (2, 5), (3, 5), (4, 5), (5, 6), (6, 6))),
        ("delivery", "ar", steps("ar", (1, 5), (2, 5), (3, 5), (4, 5), (5, 6), (6, 6))),
    ],
)
def test_each_page_of_the_replacement_journey_has_its_own_step_number(client, method, language, expected):
    """No two pages claim the same step (the photo page used to repeat "step 4 of 5")."""
    user = citizen()
    document = lost_id_card(holder=person_of(user))
    sign_in(client, user)
    shown = [caption(client.get(url("requests-new", language=language)))]
    client.post(url("requests-new", language=language), {"document": document.pk})
    shown.append(caption(client.get(url("requests-new-checks", language=language))))
    shown.append(caption(client.get(url("requests-new-contact", language=language))))
    client.post(
        url("requests-new-contact", language=language), {"address_confirmed": "on", "mobile_confirmed": "on"}
    )
    shown.append(caption(client.get(url("requests-new-method", language=language))))
    if method == "delivery":
        client.post(url("requests-new-method", language=language), {"method": method})
        shown.append(caption(client.get(url("requests-new-photo", language=language))))
    shown.append(caption(walk_to_check(client, document.pk, method=method, language=language)))

    assert shown == expected
