"""The lexicon of name words (`NameWord`): every distinct word of the persons' `search_name`.
Created empty here; 0011 fills it, 0012 indexes it by trigrams on PostgreSQL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0009_person_search_words"),
    ]

    operations = [
        migrations.CreateModel(
            name="NameWord",
            fields=[
                ("word", models.TextField(primary_key=True, serialize=False, verbose_name="word")),
            ],
            options={
                "verbose_name": "name word",
                "verbose_name_plural": "name words",
            },
        ),
    ]
