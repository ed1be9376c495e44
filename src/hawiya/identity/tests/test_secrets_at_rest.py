"""Authenticator-app secrets at rest: encrypted in their column, rotated, refused with a wrong key."""

from __future__ import annotations

import importlib
import io
import types

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.models import Value

from hawiya.core import checks as core_checks
from hawiya.core import fieldcrypt
from hawiya.core.errors import ApplicationError
from hawiya.identity import codes, services
from hawiya.identity.models import AuthenticatorApp, User

from .factories import IP, PASSWORD, UA, make_account

pytestmark = pytest.mark.django_db

KEY_OLD = fieldcrypt.new_key()
KEY_NEW = fieldcrypt.new_key()


@pytest.fixture(autouse=True)
def field_keys(settings):
    settings.HAWIYA_FIELD_KEYS = [KEY_OLD]
    return settings


def _column(user: User) -> str:
    table = connection.ops.quote_name(AuthenticatorApp._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {table} WHERE user_id = %s", [user.pk])  # noqa: S608
        return cursor.fetchone()[0]


def _active_app(user: User, clock) -> str:
    enrolment = services.authenticator_enrol(user=user)
    services.authenticator_confirm(
        user=user, code=codes.totp_code_at(enrolment.secret, clock.now()), ip=IP, user_agent=UA
    )
    return enrolment.secret


def _sign_in_with_totp(user: User, secret: str, clock) -> User:
    clock.advance(seconds=30)
    challenge = services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA)
    return services.sign_in_verify(
        challenge=challenge.challenge,
        code=codes.totp_code_at(secret, clock.now()),
        method="totp",
        ip=IP,
        user_agent=UA,
    )


def test_the_column_holds_a_token_never_the_clear_secret(clock) -> None:
    user = make_account()
    secret = _active_app(user, clock)

    stored = _column(user)
    assert secret not in stored
    assert stored.startswith(fieldcrypt.TOKEN_PREFIX)
    assert fieldcrypt.decrypt(stored) == secret
    assert AuthenticatorApp.objects.get(user=user).secret == secret
    # Serialised data (a dumpdata backup) carries the token too.
    dump = io.StringIO()
    call_command("dumpdata", "identity.authenticatorapp", stdout=dump)
    assert secret not in dump.getvalue()
    assert fieldcrypt.TOKEN_PREFIX in dump.getvalue()


def test_sign_in_with_the_app_works_on_the_encrypted_secret(clock) -> None:
    user = make_account()
    secret = _active_app(user, clock)
    assert _sign_in_with_totp(user, secret, clock) == user


def test_rotation_to_a_new_key_then_dropping_the_old_one_still_verifies(clock, field_keys) -> None:
    user = make_account()
    secret = _active_app(user, clock)
    before = _column(user)

    field_keys.HAWIYA_FIELD_KEYS = [KEY_NEW, KEY_OLD]
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "identity.AuthenticatorApp.secret: 1 re-encrypted" in out.getvalue()
    after = _column(user)
    assert after != before

    field_keys.HAWIYA_FIELD_KEYS = [KEY_NEW]
    assert fieldcrypt.decrypt(after) == secret
    assert core_checks.stored_secrets_decryptable(None, databases=["default"]) == []
    assert _sign_in_with_totp(user, secret, clock) == user


def test_a_missing_key_is_refused_by_the_startup_check_and_the_rotation(clock, field_keys) -> None:
    user = make_account()
    _active_app(user, clock)

    field_keys.HAWIYA_FIELD_KEYS = [KEY_NEW]  # the old key dropped without rotating first
    errors = core_checks.stored_secrets_decryptable(None, databases=["default"])
    assert [error.id for error in errors] == ["core.E002"]
    assert "identity.AuthenticatorApp.secret" in errors[0].msg
    # Registered as a database check: what wsgi.py runs before serving.
    assert "core.E002" in {message.id for message in run_checks(databases=["default"])}
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_field_keys", stdout=io.StringIO())


def test_the_startup_check_finds_old_rows_left_under_a_dropped_key(clock, field_keys) -> None:
    for _old in range(4):
        _active_app(make_account(), clock)
    field_keys.HAWIYA_FIELD_KEYS = [KEY_NEW, KEY_OLD]  # the new key put first, no rotation run
    for _new in range(4):
        _active_app(make_account(), clock)
    assert core_checks.stored_secrets_decryptable(None, databases=["default"]) == []

    field_keys.HAWIYA_FIELD_KEYS = [KEY_NEW]  # the newest rows open, the oldest do not

    errors = core_checks.stored_secrets_decryptable(None, databases=["default"])
    assert [error.id for error in errors] == ["core.E002"]


@pytest.mark.parametrize("keys", [[], ["not-a-key"], [KEY_NEW, "x" * 44]])
def test_a_malformed_key_list_is_refused_by_the_startup_check(field_keys, keys) -> None:
    field_keys.HAWIYA_FIELD_KEYS = keys
    errors = core_checks.field_keys_valid(None)
    assert [error.id for error in errors] == ["core.E001"]
    for key in keys:
        assert key not in errors[0].msg  # a key is never printed


def test_a_pending_set_up_is_read_back_from_the_account(clock) -> None:
    user = make_account()
    enrolment = services.authenticator_enrol(user=user)
    pending = services.authenticator_enrolment_pending(user=user)
    assert pending == enrolment
    services.authenticator_confirm(
        user=user, code=codes.totp_code_at(enrolment.secret, clock.now()), ip=IP, user_agent=UA
    )
    assert services.authenticator_enrolment_pending(user=user) is None
    with pytest.raises(ApplicationError):
        services.authenticator_enrol(user=user)


def test_the_data_migration_encrypts_the_clear_secrets_left_by_the_previous_version(clock) -> None:
    user = make_account()
    secret = _active_app(user, clock)
    # As the previous version stored it: the clear secret in the column.
    AuthenticatorApp.objects.filter(user=user).update(secret=Value(secret, output_field=models.TextField()))
    assert _column(user) == secret

    migration = importlib.import_module("hawiya.identity.migrations.0004_authenticator_secret_encrypted")
    state = MigrationLoader(connection).project_state(("identity", "0003_staff_groups"))
    editor = types.SimpleNamespace(connection=connection)
    migration.encrypt_secrets(state.apps, editor)
    migration.encrypt_secrets(state.apps, editor)  # a second run leaves tokens alone

    stored = _column(user)
    assert stored.startswith(fieldcrypt.TOKEN_PREFIX)
    assert fieldcrypt.decrypt(stored) == secret
    assert _sign_in_with_totp(user, secret, clock) == user

    migration.decrypt_secrets(state.apps, editor)  # and back, for a rollback
    assert _column(user) == secret
