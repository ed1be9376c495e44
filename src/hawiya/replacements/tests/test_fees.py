"""The fee, line by line: the ID-card loss ladder, the late-report fine, certificates, delivery."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hawiya.registry.models import DocumentKind
from hawiya.registry.tests.factories import make_family_record, make_person
from hawiya.replacements.fees import replacement_quote
from hawiya.replacements.models import FeeRate

from .factories import TODAY, loss_report_for, lost_document, lost_id_card

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("losses", "code", "fine"),
    [
        (1, "id_card_loss_1", 0),
        (2, "id_card_loss_2", 100),
        (3, "id_card_loss_3", 300),
        (4, "id_card_loss_4_plus", 1000),
        (7, "id_card_loss_4_plus", 1000),
    ],
)
def test_id_card_fine_follows_the_holders_count_of_losses(losses, code, fine):
    document = lost_id_card(losses=losses)
    quote = replacement_quote(applicant=document.holder, document=document, method="collection", today=TODAY)
    assert quote.loss_number == losses
    assert [(line.code, line.amount) for line in quote.lines] == [(code, Decimal(fine))]
    assert quote.total == Decimal(fine)


def test_delivery_adds_a_fee_that_is_never_refunded():
    document = lost_id_card(losses=2)
    quote = replacement_quote(applicant=document.holder, document=document, method="delivery", today=TODAY)
    assert [(line.code, line.amount, line.refundable) for line in quote.lines] == [
        ("id_card_loss_2", Decimal(100), True),
        ("delivery", Decimal(35), False),
    ]
    assert quote.total == Decimal(135)
    assert quote.fine == Decimal(100)
    assert quote.delivery_fee == Decimal(35)


def test_a_late_report_adds_the_late_fine():
    document = lost_id_card()
    loss_report_for(document, late=True)
    quote = replacement_quote(applicant=document.holder, document=document, method="collection", today=TODAY)
    assert quote.reported_late
    assert [line.code for line in quote.lines] == ["id_card_loss_1", "late_report"]
    assert quote.total == Decimal(100)


def test_a_report_in_time_has_no_late_fine():
    document = lost_id_card()
    loss_report_for(document, late=False)
    quote = replacement_quote(applicant=document.holder, document=document, method="collection", today=TODAY)
    assert not quote.reported_late
    assert quote.total == Decimal(0)


def test_certificates_use_their_own_fee_and_no_loss_ladder():
    head = make_person()
    record = make_family_record(head=head)
    family_record = lost_document(holder=head, kind=DocumentKind.FAMILY_RECORD, family_record=record)
    birth = lost_document(holder=head, kind=DocumentKind.BIRTH_CERTIFICATE)
    for document, code in ((family_record, "family_record"), (birth, "birth_certificate")):
        quote = replacement_quote(applicant=head, document=document, method="collection", today=TODAY)
        assert [line.code for line in quote.lines] == [code]


def test_an_amount_changed_in_the_admin_is_used():
    FeeRate.objects.filter(code="id_card_loss_2").update(amount_sar=Decimal("150.50"))
    FeeRate.objects.filter(code="birth_certificate").update(amount_sar=Decimal(20))
    document = lost_id_card(losses=2)
    quote = replacement_quote(applicant=document.holder, document=document, method="collection", today=TODAY)
    assert quote.total == Decimal("150.50")
    birth = lost_document(holder=make_person(), kind=DocumentKind.BIRTH_CERTIFICATE)
    quote = replacement_quote(applicant=birth.holder, document=birth, method="collection", today=TODAY)
    assert quote.total == Decimal(20)


def test_the_migration_writes_the_default_schedule():
    rates = dict(FeeRate.objects.values_list("code", "amount_sar"))
    assert rates == {
        "id_card_loss_1": Decimal(0),
        "id_card_loss_2": Decimal(100),
        "id_card_loss_3": Decimal(300),
        "id_card_loss_4_plus": Decimal(1000),
        "late_report": Decimal(100),
        "birth_certificate": Decimal(0),
        "death_certificate": Decimal(0),
        "family_record": Decimal(0),
        "delivery": Decimal(35),
    }
