"""The published key, the inclusion proof document, and the checker script of
docs/audit-proof.md run as a citizen would run it: valid on a real proof, invalid on any
tampered one."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.db import transaction
from django.test import Client

from hawiya.audit import merkle
from hawiya.audit.actors import Actor
from hawiya.audit.checks import audit_signing_key_configured
from hawiya.audit.models import AuditEvent
from hawiya.audit.selectors import audit_inclusion_proof, audit_public_keys
from hawiya.audit.services import audit_record, audit_seal

pytestmark = pytest.mark.django_db

DOC = Path(settings.BASE_DIR) / "docs" / "audit-proof.md"


def _script(tmp_path: Path) -> Path:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- check_audit_proof.py: begin -->\n```python\n(.*?)```\n<!-- check_audit_proof.py: end -->",
        text,
        re.S,
    )
    assert match, "the checker is no longer in docs/audit-proof.md"
    path = tmp_path / "check_audit_proof.py"
    path.write_text(match.group(1), encoding="utf-8")
    return path


def _events(count: int) -> list[AuditEvent]:
    with transaction.atomic():
        return [
            audit_record(
                actor=Actor.staff(7, role="officer", office_code="RUH-01", ip="192.0.2.7"),
                action="person.record_viewed",
                object_type="registry.person",
                object_id=n,
                detail={"person_id": n},
            )
            for n in range(1, count + 1)
        ]


def _run(
    script: Path, tmp_path: Path, proof: dict[str, Any], key: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    proof_file, key_file = tmp_path / "proof.json", tmp_path / "key.json"
    proof_file.write_text(json.dumps(proof, ensure_ascii=False), encoding="utf-8")
    key_file.write_text(json.dumps(key), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script), str(proof_file), str(key_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_documented_checker_accepts_a_real_proof_and_refuses_tampered_ones(
    client: Client, tmp_path: Path
) -> None:
    events = _events(6)
    audit_seal(limit=4)
    more = _events(1)
    audit_seal()
    key = client.get("/.well-known/hawiya-audit-key").json()
    script = _script(tmp_path)
    # Each proof is under the head of the seal that took the entry in: 4 for the first batch.
    for event, size in ((events[0], 4), (events[3], 4), (events[4], 7), (more[0], 7)):
        proof = audit_inclusion_proof(event)
        assert proof is not None
        assert proof["tree_size"] == size
        outcome = _run(script, tmp_path, proof, key)
        assert outcome.returncode == 0, outcome.stdout + outcome.stderr
        assert outcome.stdout.startswith(f"OK: entry {event.pk} person.record_viewed")

    proof = audit_inclusion_proof(events[2])
    assert proof is not None
    leaf = json.loads(proof["leaf"])
    assert "user:7" not in proof["leaf"]
    assert "192.0.2.7" not in proof["leaf"]
    assert leaf["detail"] == {"person_id": 3}

    def tampered(change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(proof)
        change(copied)
        return copied

    def new_leaf(p: dict[str, Any]) -> None:
        p["leaf"] = p["leaf"].replace('"person.record_viewed"', '"person.created"')
        p["leaf_hash"] = merkle.leaf_hash(p["leaf"].encode()).hex()

    cases = {
        "leaf changed": lambda p: p.update(leaf=p["leaf"].replace("RUH-01", "JED-01")),
        "leaf changed and rehashed": new_leaf,
        "index": lambda p: p.update(leaf_index=p["leaf_index"] + 1),
        "path": lambda p: p["audit_path"].__setitem__(0, "00" * 32),
        "path shortened": lambda p: p["audit_path"].pop(),
        "size": lambda p: p.update(tree_size=8),
        "root": lambda p: p["signed_tree_head"].update(root_hash="11" * 32),
        "head size": lambda p: p["signed_tree_head"].update(tree_size=9),
        "signature": lambda p: p["signed_tree_head"].update(
            signature=p["signed_tree_head"]["signature"][::-1]
        ),
        "unknown key": lambda p: p["signed_tree_head"].update(key_id="ab" * 32),
    }
    for name, change in cases.items():
        outcome = _run(script, tmp_path, tampered(change), key)
        assert outcome.returncode == 1, name
        assert outcome.stdout.startswith("NOT VALID"), (name, outcome.stdout, outcome.stderr)
    # A key other than the log's.
    other = dict(key, keys=[dict(key["keys"][0], public_key="A" * 43 + "=")])
    assert _run(script, tmp_path, proof, other).returncode == 1


def test_a_pending_event_has_no_proof_yet() -> None:
    (event,) = _events(1)
    assert audit_inclusion_proof(event) is None
    audit_seal()
    assert audit_inclusion_proof(event) is not None


def test_the_well_known_key_is_public_cacheable_and_personal_data_free(client: Client) -> None:
    answer = client.get("/.well-known/hawiya-audit-key")
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "public, max-age=60"
    assert answer.json() == {"log": "hawiya-audit", "keys": audit_public_keys(), "signed_tree_head": None}
    _events(2)
    seal = audit_seal()
    assert seal is not None
    document = client.get("/.well-known/hawiya-audit-key").json()
    assert set(document["signed_tree_head"]) == {
        "log",
        "v",
        "tree_size",
        "root_hash",
        "timestamp",
        "key_id",
        "signature",
    }
    assert document["signed_tree_head"]["tree_size"] == 2
    assert document["keys"][0]["key_id"] == seal.key_id
    text = json.dumps(document)
    assert "person_id" not in text
    assert "user:" not in text
    assert "192.0.2" not in text
    assert client.post("/.well-known/hawiya-audit-key").status_code == 405


def test_a_server_without_a_signing_key_does_not_start(settings: Any) -> None:
    settings.HAWIYA_AUDIT_SIGNING_KEY = ""
    settings.DEMO = settings.DEBUG = settings.EMBEDDED = False
    assert [m.id for m in audit_signing_key_configured(None)] == ["audit.E001"]
    assert "audit.E001" in [m.id for m in run_checks()]
    settings.HAWIYA_AUDIT_SIGNING_KEY = "not-a-key"
    assert [m.id for m in audit_signing_key_configured(None)] == ["audit.E002"]
    settings.HAWIYA_AUDIT_SIGNING_KEY = "AAAA"
    assert [m.id for m in audit_signing_key_configured(None)] == ["audit.E002"]
    settings.HAWIYA_AUDIT_SIGNING_KEY = ""
    settings.EMBEDDED = True  # a development machine derives one
    assert audit_signing_key_configured(None) == []


def test_a_pem_key_signs_too(settings: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    settings.HAWIYA_AUDIT_SIGNING_KEY = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    assert audit_signing_key_configured(None) == []
    _events(1)
    assert audit_seal() is not None
    from hawiya.audit.selectors import audit_log_verify

    assert audit_log_verify().ok


def test_a_proof_is_built_once_then_read_from_the_cache(django_assert_num_queries: Any) -> None:
    (event,) = _events(1)
    audit_seal()
    first = audit_inclusion_proof(event)
    assert first is not None
    with django_assert_num_queries(0):
        assert audit_inclusion_proof(event) == first
