"""The fee schedule's first amounts (SAR). The ID-card loss ladder is MOI's published rule; the
late-report fine, the certificate fees and the delivery fee are placeholders for the admin to set
(see FeeRateAdmin). Rows that already exist keep their amount."""

from decimal import Decimal

from django.db import migrations

DEFAULT_FEES = {
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


def add_fee_rates(apps, schema_editor):
    FeeRate = apps.get_model("replacements", "FeeRate")
    for code, amount in DEFAULT_FEES.items():
        FeeRate.objects.get_or_create(code=code, defaults={"amount_sar": amount})


def remove_fee_rates(apps, schema_editor):
    apps.get_model("replacements", "FeeRate").objects.filter(code__in=list(DEFAULT_FEES)).delete()


class Migration(migrations.Migration):
    dependencies = [("replacements", "0001_initial")]
    operations = [migrations.RunPython(add_fee_rates, remove_fee_rates)]
