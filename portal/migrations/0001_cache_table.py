"""The database cache's table, so ``manage.py migrate`` alone makes a working site.

Without it every upload answered 503 "the database is busy" after a plain
``migrate``: the throttle's cache read hit a missing table. Creates the table of
every ``DatabaseCache`` in ``CACHES`` plus ``portal_cache`` (base settings), as
``createcachetable`` would; an existing table is left alone.
"""

from django.conf import settings
from django.core.management.commands.createcachetable import Command
from django.db import migrations

DEFAULT_TABLE = "portal_cache"


def _tables() -> set[str]:
    tables = {DEFAULT_TABLE}
    for cache in settings.CACHES.values():
        if cache.get("BACKEND", "").endswith("db.DatabaseCache"):
            tables.add(cache["LOCATION"])
    return tables


def create_cache_tables(apps, schema_editor) -> None:
    command = Command()
    command.verbosity = 0
    for table in sorted(_tables()):
        command.create_table(schema_editor.connection.alias, table, dry_run=False)


def drop_cache_tables(apps, schema_editor) -> None:
    existing = schema_editor.connection.introspection.table_names()
    for table in sorted(_tables()):
        if table in existing:
            schema_editor.execute(
                f"DROP TABLE {schema_editor.quote_name(table)}"
            )


class Migration(migrations.Migration):
    dependencies: list = []

    operations = [migrations.RunPython(create_cache_tables, drop_cache_tables)]
