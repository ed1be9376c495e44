"""Authenticator-app secrets encrypted at rest (Fernet under HAWIYA_FIELD_KEYS).

The column becomes text (a token is ~140 characters), every clear secret is encrypted under the
first key, then the field becomes an EncryptedTextField (no schema change). Reversible: going
back decrypts them (with the keys still configured).
"""

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

import hawiya.core.fields
from hawiya.core import fieldcrypt


def encrypt_secrets(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    app_model = apps.get_model("identity", "AuthenticatorApp")
    rows = app_model.objects.using(schema_editor.connection.alias).select_for_update()
    for pk, secret in rows.values_list("pk", "secret"):
        if secret and not fieldcrypt.is_token(secret):
            rows.filter(pk=pk).update(secret=fieldcrypt.encrypt(secret))


def decrypt_secrets(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    app_model = apps.get_model("identity", "AuthenticatorApp")
    rows = app_model.objects.using(schema_editor.connection.alias).select_for_update()
    for pk, secret in rows.values_list("pk", "secret"):
        if secret and fieldcrypt.is_token(secret):
            rows.filter(pk=pk).update(secret=fieldcrypt.decrypt(secret))


class Migration(migrations.Migration):
    dependencies = [("identity", "0003_staff_groups")]

    operations = [
        migrations.AlterField(
            model_name="authenticatorapp",
            name="secret",
            field=models.TextField(editable=False, verbose_name="secret"),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.AlterField(
            model_name="authenticatorapp",
            name="secret",
            field=hawiya.core.fields.EncryptedTextField(editable=False, verbose_name="secret"),
        ),
    ]
