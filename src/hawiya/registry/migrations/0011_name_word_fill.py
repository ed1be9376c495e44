"""Fill the lexicon (`NameWord`) with the words of the persons already in the register, reading
them in batches of primary keys.

Not atomic: each batch commits on its own, so a register of millions is not read and written in
one transaction, and a run that stops half-way is finished by running it again (a word already
there is left alone). Works the same on both engines: the words are split here, as `Person.save`
splits them, and only the words this run has not met yet are inserted.
"""

from django.db import migrations, transaction

BATCH_SIZE = 20_000


def fill_name_words(apps, schema_editor):
    Person = apps.get_model("registry", "Person")
    NameWord = apps.get_model("registry", "NameWord")
    alias = schema_editor.connection.alias
    seen: set[str] = set()
    last_pk = 0
    while True:
        rows = list(
            Person.objects.using(alias)
            .filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "search_name")[:BATCH_SIZE]
        )
        if not rows:
            return
        new = {word for _pk, search_name in rows for word in search_name.split()} - seen
        if new:
            with transaction.atomic(using=alias):
                NameWord.objects.using(alias).bulk_create(
                    [NameWord(word=word) for word in sorted(new)], ignore_conflicts=True
                )
            seen |= new
        last_pk = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0010_name_word"),
    ]

    operations = [migrations.RunPython(fill_name_words, migrations.RunPython.noop, elidable=True)]
