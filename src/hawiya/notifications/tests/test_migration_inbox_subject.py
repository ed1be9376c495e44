"""Migration 0004: the portal paths stored in inbox entries become subjects, and back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from hawiya.notifications.models import InboxNotification

BEFORE = [("notifications", "0003_sms_operator_id_index")]
AFTER = [("notifications", "0004_inbox_subject")]

STORED = {
    "/lost-documents/LR00000001/": ("loss", "LR00000001"),
    "/requests/RP00000002/": ("replacement", "RP00000002"),
    "/appointments/AP00000003/": ("appointment", "AP00000003"),
    "": ("", ""),
    # Never shown as links by the notification centre: no subject.
    "//evil.example/x": ("", ""),
    "/account/security/": ("", ""),
}


def migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_stored_paths_become_subjects_and_the_migration_reverses() -> None:
    executor = migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("notifications", "InboxNotification")
        for number, link in enumerate(STORED, start=1):
            old.objects.create(person_id=number, template="lost_document_reported", context={}, link=link)
        migrate(AFTER)
        subjects = {
            entry.person_id: (entry.subject_kind, entry.subject_reference)
            for entry in InboxNotification.objects.all()
        }
        assert subjects == {number: subject for number, subject in enumerate(STORED.values(), start=1)}

        executor = migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps.get_model("notifications", "InboxNotification")
        links = dict(old.objects.values_list("person_id", "link"))
        assert links == {
            number: (link if subject[0] else "")
            for number, (link, subject) in enumerate(STORED.items(), start=1)
        }
    finally:
        # Back to the newest state of every app (later migrations may follow 0004), so the tests
        # that run after this one find the schema the models describe.
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
