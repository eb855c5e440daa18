"""PostgreSQL-only guarantees and indexes; nothing happens on SQLite.

- ``appointment_provider_no_overlap``: an exclusion constraint, so the database itself
  refuses two blocking appointments of one provider that share a moment (the service
  checks first, under a row lock; this is the backstop for any other write path). It
  is not declared in ``Appointment.Meta`` because SQLite cannot create or validate an
  exclusion constraint: the model would stop working there. Needs ``btree_gist`` for
  the ``provider_id WITH =`` part (a trusted extension since PostgreSQL 13).
- Upper-case ``text_pattern_ops`` indexes on names: ``istartswith`` compiles to
  ``UPPER(col::text) LIKE UPPER('smi%')``, which a plain index cannot serve outside the
  C collation. These keep the patient search a prefix scan at a million rows.
"""

from django.contrib.postgres.operations import BtreeGistExtension
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
        ("clinical", "0001_initial"),
    ]

    operations = [
        # Skips itself on other databases.
        BtreeGistExtension(),
        PostgreSQLOnlySQL(
            sql="""
                ALTER TABLE clinical_appointment
                ADD CONSTRAINT appointment_provider_no_overlap
                EXCLUDE USING gist (
                    provider_id WITH =,
                    tstzrange(starts_at, ends_at, '[)') WITH &&
                )
                WHERE (status IN ('scheduled', 'confirmed', 'completed'))
            """,
            reverse_sql="""
                ALTER TABLE clinical_appointment
                DROP CONSTRAINT appointment_provider_no_overlap
            """,
        ),
        PostgreSQLOnlySQL(
            sql=[
                "CREATE INDEX patient_last_prefix_idx ON clinical_patient "
                "(company_id, UPPER(last_name::text) text_pattern_ops)",
                "CREATE INDEX patient_first_prefix_idx ON clinical_patient "
                "(company_id, UPPER(first_name::text) text_pattern_ops)",
                "CREATE INDEX provider_last_prefix_idx ON clinical_provider "
                "(company_id, UPPER(last_name::text) text_pattern_ops)",
            ],
            reverse_sql=[
                "DROP INDEX patient_last_prefix_idx",
                "DROP INDEX patient_first_prefix_idx",
                "DROP INDEX provider_last_prefix_idx",
            ],
        ),
    ]
