"""Trigram indexes on the patients' names (PostgreSQL only; nothing on SQLite).

The patient search tolerates a misspelt name on PostgreSQL (``clinical.admin_search``:
``last_name % 'term'``, pg_trgm's similarity operator); these GIN indexes keep that a
lookup rather than a scan. Names are plaintext columns; encrypted ones (date of birth,
phone, e-mail) are never searched this way, only through their blind index.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class PostgreSQLOnlySQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL only (and is a no-op elsewhere)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0003_patient_state_index"),
    ]

    operations = [
        # Skips itself on other databases.
        TrigramExtension(),
        PostgreSQLOnlySQL(
            sql=[
                "CREATE INDEX patient_last_name_trgm ON clinical_patient "
                "USING gin (last_name gin_trgm_ops)",
                "CREATE INDEX patient_first_name_trgm ON clinical_patient "
                "USING gin (first_name gin_trgm_ops)",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS patient_last_name_trgm",
                "DROP INDEX IF EXISTS patient_first_name_trgm",
            ],
        ),
    ]
