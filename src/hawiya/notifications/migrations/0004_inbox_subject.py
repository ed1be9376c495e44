"""Inbox entries carry a subject (kind + reference) instead of a portal path.

The stored paths ("/lost-documents/LR…/", "/requests/RP…/", "/appointments/AP…/") become
subjects; any other path, which the notification centre never showed as a link, becomes no
subject. Reversible: the paths are written back from the subjects.
"""

import re

from django.db import migrations, models

# The three paths the domain used to store, and the subject kind of each.
PATHS = {"lost-documents": "loss", "requests": "replacement", "appointments": "appointment"}
KINDS = {kind: prefix for prefix, kind in PATHS.items()}
STORED_PATH = re.compile(r"/(lost-documents|requests|appointments)/([A-Za-z0-9_-]{1,20})/")
BATCH = 1000


def paths_to_subjects(apps, schema_editor):
    InboxNotification = apps.get_model("notifications", "InboxNotification")
    changed = []
    for entry in InboxNotification.objects.exclude(link="").only("pk", "link").iterator(chunk_size=BATCH):
        match = STORED_PATH.fullmatch(entry.link)
        if match is None:
            continue
        entry.subject_kind, entry.subject_reference = PATHS[match[1]], match[2]
        changed.append(entry)
        if len(changed) >= BATCH:
            InboxNotification.objects.bulk_update(changed, ["subject_kind", "subject_reference"])
            changed = []
    InboxNotification.objects.bulk_update(changed, ["subject_kind", "subject_reference"])


def subjects_to_paths(apps, schema_editor):
    InboxNotification = apps.get_model("notifications", "InboxNotification")
    changed = []
    entries = InboxNotification.objects.exclude(subject_kind="").only("pk", "subject_kind", "subject_reference")
    for entry in entries.iterator(chunk_size=BATCH):
        entry.link = f"/{KINDS[entry.subject_kind]}/{entry.subject_reference}/"
        changed.append(entry)
        if len(changed) >= BATCH:
            InboxNotification.objects.bulk_update(changed, ["link"])
            changed = []
    InboxNotification.objects.bulk_update(changed, ["link"])


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0003_sms_operator_id_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboxnotification",
            name="subject_kind",
            field=models.CharField(blank=True, default="", max_length=20, verbose_name="subject kind"),
        ),
        migrations.AddField(
            model_name="inboxnotification",
            name="subject_reference",
            field=models.CharField(blank=True, default="", max_length=20, verbose_name="subject reference"),
        ),
        migrations.RunPython(paths_to_subjects, subjects_to_paths, elidable=False),
        migrations.RemoveField(
            model_name="inboxnotification",
            name="link",
        ),
        migrations.AddConstraint(
            model_name="inboxnotification",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("subject_kind", ""), ("subject_reference", "")),
                    models.Q(
                        ("subject_kind__in", ("loss", "replacement", "appointment")),
                        models.Q(("subject_reference", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="inbox_subject_valid",
            ),
        ),
    ]
