"""Biometric captures keep what the fingerprint matcher needs: which matcher enrolled the
template and its reference there. The keyed hashes already stored are the demo matcher's
references, so existing captures become `matcher="demo"` with their hash as the reference and
still verify against what the demo scanner gives."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_biometric_captures"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="biometriccapture",
            name="biometric_capture_hash_shape",
        ),
        migrations.RenameField(
            model_name="biometriccapture",
            old_name="fingerprint_template_hash",
            new_name="template_reference",
        ),
        migrations.AlterField(
            model_name="biometriccapture",
            name="template_reference",
            field=models.CharField(max_length=128, verbose_name="fingerprint template reference"),
        ),
        migrations.AddField(
            model_name="biometriccapture",
            name="matcher",
            field=models.CharField(default="demo", max_length=16, verbose_name="fingerprint matcher"),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="biometriccapture",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("matcher", "demo"), ("template_reference__regex", "^[0-9a-f]{64}$")),
                    models.Q(("matcher", "http"), ("template_reference__regex", "^[A-Za-z0-9._:-]{1,128}$")),
                    _connector="OR",
                ),
                name="biometric_capture_reference_shape",
                violation_error_message=(
                    "The fingerprint matcher is demo (a 64-digit hexadecimal hash) or http (the "
                    "reference the matching system gave)."
                ),
            ),
        ),
    ]
