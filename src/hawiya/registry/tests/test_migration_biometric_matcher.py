"""Migration 0005: the captures taken before the matcher existed (a keyed hash of the demo
scanner's template) become the demo matcher's references and still verify."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from hawiya.registry.biometrics import DemoFingerprintScanner, fingerprint_verify
from hawiya.registry.matchers import template_hash
from hawiya.registry.models import BiometricCapture

from .factories import make_office, make_person

BEFORE = [("registry", "0004_biometric_captures")]


@pytest.mark.django_db(transaction=True)
def test_captures_kept_as_keyed_hashes_become_demo_references_that_still_verify() -> None:
    person, office = make_person(), make_office()
    scanner = DemoFingerprintScanner()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old_capture = executor.loader.project_state(BEFORE).apps.get_model("registry", "BiometricCapture")
        old_capture.objects.create(
            person_id=person.pk,
            office_id=office.pk,
            captured_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC),
            actor="user:1",
            photo="biometric-photos/2026/11/old.jpg",
            fingerprint_template_hash=template_hash(scanner.capture(subject_hint=str(person.pk)).template),
            finger_count=10,
            quality=88,
            device_id="demo-scanner-1",
            device_model="Hawiya demo scanner",
        )
    finally:
        # Back to the newest state of every app, not only registry's 0005: going back to 0004
        # also unapplied the apps whose migrations depend on later registry ones, and the tests
        # that run after this one need the schema the models describe.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        executor.loader.build_graph()

    capture = BiometricCapture.objects.get()
    assert capture.matcher == "demo"
    same = fingerprint_verify(capture=capture, fingerprints=scanner.capture(subject_hint=str(person.pk)))
    other = fingerprint_verify(capture=capture, fingerprints=scanner.capture(subject_hint="someone else"))
    assert (same.matched, other.matched) == (True, False)
