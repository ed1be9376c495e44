"""CodeSendQuota.last_send_at: the newest of a row's recent sends, indexed, so the retention prune
finds the rows that no longer limit anything (docs/design.md §9). Filled here from `recent_sends`;
a row with no send is left empty (the prune deletes it too)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import migrations, models
from django.utils.dateparse import parse_datetime


def _newest(values: Any) -> dt.datetime | None:
    newest: dt.datetime | None = None
    for value in values if isinstance(values, list) else []:
        try:
            sent = parse_datetime(str(value))
        except ValueError:
            sent = None
        if sent is None:
            continue
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=dt.UTC)
        if newest is None or sent > newest:
            newest = sent
    return newest


def fill_last_send(apps: Any, schema_editor: Any) -> None:
    quota_model = apps.get_model("identity", "CodeSendQuota")
    changed = []
    for quota in quota_model.objects.only("pk", "recent_sends").iterator(chunk_size=2000):
        quota.last_send_at = _newest(quota.recent_sends)
        if quota.last_send_at is not None:
            changed.append(quota)
        if len(changed) >= 2000:
            quota_model.objects.bulk_update(changed, ["last_send_at"])
            changed = []
    if changed:
        quota_model.objects.bulk_update(changed, ["last_send_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0013_staff_role_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="codesendquota",
            name="last_send_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="last send"),
        ),
        migrations.RunPython(fill_last_send, migrations.RunPython.noop),
    ]
