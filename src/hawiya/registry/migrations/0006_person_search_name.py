"""Persons get `search_name`: every word of their name in both scripts, normalised for search
(registry/name_search.py). Added empty here; 0007 fills it, 0008 indexes it on PostgreSQL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_biometric_matcher_reference"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="search_name",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="name for search"),
        ),
    ]
