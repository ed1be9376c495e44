"""Fill `Person.search_name` for the persons already in the register, in batches of primary keys.

Not atomic: each batch commits on its own, so a register of millions is not one transaction
holding every row locked (and a run that stops half-way is finished by running it again: every
row is recomputed). It uses today's `search_name_of`, the function `Person.save` uses, so the
rows filled here and the rows saved later agree.
"""

from django.db import migrations, transaction

from hawiya.registry.name_search import search_name_of

BATCH_SIZE = 5_000
NAME_FIELDS = (
    "first_name_ar",
    "father_name_ar",
    "grandfather_name_ar",
    "family_name_ar",
    "first_name_en",
    "father_name_en",
    "grandfather_name_en",
    "family_name_en",
)


def fill_search_name(apps, schema_editor):
    Person = apps.get_model("registry", "Person")
    connection = schema_editor.connection
    alias = connection.alias
    table = connection.ops.quote_name(Person._meta.db_table)
    # The table name is quoted from _meta; the values are bound parameters.
    sql = f"UPDATE {table} SET search_name = %s WHERE id = %s"  # noqa: S608
    last_pk = 0
    while True:
        rows = list(
            Person.objects.using(alias)
            .filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", *NAME_FIELDS)[:BATCH_SIZE]
        )
        if not rows:
            return
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(sql, [(search_name_of(row[1:]), row[0]) for row in rows])
        last_pk = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0006_person_search_name"),
    ]

    operations = [migrations.RunPython(fill_search_name, migrations.RunPython.noop, elidable=True)]
