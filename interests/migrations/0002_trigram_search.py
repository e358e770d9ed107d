"""On PostgreSQL, trigram indexes serve the explore search (ILIKE '%term%'), in Chinese and English alike.
SQLite scans; at its scale that is fine."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS channel_name_trgm ON interests_channel USING gin (name gin_trgm_ops)")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS channel_description_trgm ON interests_channel USING gin (description gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS channel_name_trgm")
    schema_editor.execute("DROP INDEX IF EXISTS channel_description_trgm")


class Migration(migrations.Migration):
    dependencies = [("interests", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
