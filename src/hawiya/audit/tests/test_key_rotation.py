"""A new audit signing key: the seals the old one signed still verify, and the proofs handed out
under it can still be checked, once its public half is kept in HAWIYA_AUDIT_RETIRED_KEYS."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from hawiya.audit.checks import audit_retired_keys_valid
from hawiya.audit.selectors import audit_inclusion_proof, audit_log_verify
from hawiya.audit.services import audit_seal
from hawiya.audit.signing import signing_key
from hawiya.core import clock

from .test_chain import _drop_triggers
from .test_proof_doc import _events, _run, _script

pytestmark = pytest.mark.django_db

NEW_SEED = base64.b64encode(bytes(range(100, 132))).decode("ascii")


def test_a_new_key_keeps_the_old_seals_verifiable_through_the_retired_public_key(
    settings: Any, client: Client, tmp_path: Path
) -> None:
    old_events = _events(3)
    old_seal = audit_seal()
    assert old_seal is not None
    old_key = signing_key()
    old_proof = audit_inclusion_proof(old_events[1])

    settings.HAWIYA_AUDIT_SIGNING_KEY = NEW_SEED
    broken = audit_log_verify()
    assert not broken.ok
    assert broken.broken_id == old_events[0].pk
    assert f"names key {old_key.key_id[:16]}" in broken.reason
    assert "HAWIYA_AUDIT_RETIRED_KEYS" in broken.reason

    settings.HAWIYA_AUDIT_RETIRED_KEYS = [old_key.public_b64]
    assert audit_log_verify().ok
    new_events = _events(2)
    new_seal = audit_seal()
    assert new_seal is not None
    assert new_seal.key_id == signing_key().key_id != old_key.key_id
    result = audit_log_verify()
    assert result.ok, result.message
    assert (result.seals, result.sealed) == (2, 5)

    document = client.get("/.well-known/hawiya-audit-key").json()
    assert [(key["key_id"], key["status"]) for key in document["keys"]] == [
        (new_seal.key_id, "current"),
        (old_key.key_id, "retired"),
    ]
    assert document["keys"][1]["public_key"] == old_key.public_b64
    # The documented checker accepts the proof handed out under the old key, and a new one.
    script = _script(tmp_path)
    for proof in (old_proof, audit_inclusion_proof(new_events[0])):
        assert proof is not None
        outcome = _run(script, tmp_path, proof, document)
        assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_a_seal_altered_to_name_a_retired_key_does_not_verify(settings: Any) -> None:
    _events(2)
    audit_seal()
    old_key = signing_key()
    settings.HAWIYA_AUDIT_SIGNING_KEY = NEW_SEED
    settings.HAWIYA_AUDIT_RETIRED_KEYS = [old_key.public_b64]
    _events(1)
    new_seal = audit_seal()
    assert new_seal is not None
    # The key id is in what is signed: naming another known key breaks the signature.
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditseal SET key_id = %s WHERE id = %s", [old_key.key_id, new_seal.pk])
    result = audit_log_verify()
    assert not result.ok
    assert "is not signed by the key it names" in result.reason


def test_the_current_key_listed_as_retired_too_is_published_once(settings: Any, client: Client) -> None:
    settings.HAWIYA_AUDIT_RETIRED_KEYS = [signing_key().public_b64, signing_key().public_b64]
    keys = client.get("/.well-known/hawiya-audit-key").json()["keys"]
    assert [key["status"] for key in keys] == ["current"]


def test_a_malformed_retired_key_stops_the_server(settings: Any) -> None:
    settings.HAWIYA_AUDIT_RETIRED_KEYS = [signing_key().public_b64]
    assert audit_retired_keys_valid(None) == []
    settings.HAWIYA_AUDIT_RETIRED_KEYS = ["not-base64!", "AAAA"]
    errors = audit_retired_keys_valid(None)
    assert [error.id for error in errors] == ["audit.E003", "audit.E003"]
    assert "key 1" in errors[0].msg
    assert "key 2" in errors[1].msg
    assert "32 bytes, not 3" in errors[1].msg


def _rotated(settings: Any, *, later: dt.timedelta = dt.timedelta(0)) -> tuple[Any, str]:
    """A seal under the first key, then a new key; the first is retired `later` than now (after
    its seal). Returns the old key and the retirement time as set."""
    _events(2)
    assert audit_seal() is not None
    old_key = signing_key()
    retired_at = (clock.now() + later).isoformat()
    settings.HAWIYA_AUDIT_SIGNING_KEY = NEW_SEED
    settings.HAWIYA_AUDIT_RETIRED_KEYS = [f"{old_key.public_b64}@{retired_at}"]
    return old_key, retired_at


def test_a_retired_key_with_its_time_still_vouches_for_what_it_signed_before(
    settings: Any, client: Client
) -> None:
    old_key, retired_at = _rotated(settings, later=dt.timedelta(minutes=1))
    _events(1)
    assert audit_seal() is not None
    result = audit_log_verify()
    assert result.ok, result.message
    retired = client.get("/.well-known/hawiya-audit-key").json()["keys"][1]
    assert (retired["key_id"], retired["status"]) == (old_key.key_id, "retired")
    assert dt.datetime.fromisoformat(retired["retired_at"]) == dt.datetime.fromisoformat(retired_at)


def test_a_tree_head_signed_with_a_retired_key_after_its_retirement_is_refused(
    settings: Any, client: Client, tmp_path: Path
) -> None:
    first_key_setting = settings.HAWIYA_AUDIT_SIGNING_KEY
    old_key, _retired_at = _rotated(settings)
    # The old private key leaked: whoever holds it signs a later tree head under its id.
    forged_events = _events(1)
    settings.HAWIYA_AUDIT_SIGNING_KEY = first_key_setting
    forged = audit_seal()
    assert forged is not None
    assert forged.key_id == old_key.key_id
    settings.HAWIYA_AUDIT_SIGNING_KEY = NEW_SEED

    result = audit_log_verify()
    assert not result.ok
    assert result.broken_id == forged.first_event_id
    assert f"after its key {old_key.key_id[:16]}" in result.reason
    assert "was retired" in result.reason
    # Whoever checks a proof under it against the published document refuses it too; without
    # the retirement time it would pass.
    proof = audit_inclusion_proof(forged_events[0])
    assert proof is not None
    document = client.get("/.well-known/hawiya-audit-key").json()
    outcome = _run(_script(tmp_path), tmp_path, proof, document)
    assert outcome.returncode == 1
    assert "dated after its key was retired" in outcome.stdout + outcome.stderr
    del document["keys"][1]["retired_at"]
    assert _run(_script(tmp_path), tmp_path, proof, document).returncode == 0


def test_a_retirement_time_must_be_iso_8601_with_its_offset(settings: Any) -> None:
    key = signing_key().public_b64
    settings.HAWIYA_AUDIT_RETIRED_KEYS = [f"{key}@2026-12-01T09:00:00Z", f"{key}@2026-12-01T12:00:00+03:00"]
    assert audit_retired_keys_valid(None) == []
    settings.HAWIYA_AUDIT_RETIRED_KEYS = [f"{key}@yesterday", f"{key}@2026-12-01T09:00:00", f"{key}@"]
    errors = audit_retired_keys_valid(None)
    assert [error.id for error in errors] == ["audit.E003"] * 3
    assert "not ISO 8601" in errors[0].msg
    assert "no offset" in errors[1].msg
    assert "not ISO 8601" in errors[2].msg
