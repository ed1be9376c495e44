"""The catalogue of civil-affairs services an office can offer."""

from django.db import migrations

SERVICES = [
    ("national_id_card_replacement", "إصدار بطاقة هوية وطنية بدل مفقود", "National ID card replacement (lost)"),
    ("birth_certificate_replacement", "إصدار شهادة ميلاد بدل مفقود", "Birth certificate replacement (lost)"),
    ("death_certificate_replacement", "إصدار شهادة وفاة بدل مفقود", "Death certificate replacement (lost)"),
    ("family_record_replacement", "إصدار سجل أسرة بدل مفقود", "Family record replacement (lost)"),
    ("biometrics_capture", "تسجيل البصمات والصورة", "Fingerprints and photo capture"),
    ("digital_identity_activation", "تفعيل الهوية الرقمية", "Digital identity activation"),
    ("mobile_number_rebinding", "تحديث رقم الجوال المسجل", "Updating the registered mobile number"),
]


def add_services(apps, schema_editor):
    CivilService = apps.get_model("registry", "CivilService")
    for code, name_ar, name_en in SERVICES:
        CivilService.objects.update_or_create(code=code, defaults={"name_ar": name_ar, "name_en": name_en})


def remove_services(apps, schema_editor):
    apps.get_model("registry", "CivilService").objects.filter(code__in=[s[0] for s in SERVICES]).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(add_services, remove_services)]
