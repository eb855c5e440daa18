"""Copy django-auditlog's history (``auditlog_logentry``) into ``core_auditentry`` and
fill each entry's company. The old table keeps its rows (a rollback still has them);
going back copies the entries written since into it, so no history is lost either way.

On PostgreSQL the old table's foreign keys are dropped: Django no longer knows the
table (its model is swapped out), so ``flush`` (test teardown, ``manage.py flush``)
would refuse to TRUNCATE the users and content types it references.

Ids are kept, so links to entries stay valid.
"""

from django.db import migrations

COLUMNS = (
    "id, content_type_id, object_pk, object_id, object_repr, serialized_data, action, "
    "changes_text, changes, actor_id, cid, remote_addr, remote_port, timestamp, "
    "additional_data, actor_email"
)


def copy_forward(apps, schema_editor):
    connection = schema_editor.connection
    if "auditlog_logentry" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO core_auditentry ({COLUMNS}) SELECT {COLUMNS} FROM auditlog_logentry"  # noqa: S608
        )
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('core_auditentry', 'id'), "
                "COALESCE((SELECT MAX(id) FROM core_auditentry), 1))"
            )
    fill_companies(apps, connection)
    if connection.vendor == "postgresql":
        drop_old_foreign_keys(connection)


def drop_old_foreign_keys(connection):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'auditlog_logentry'::regclass AND contype = 'f'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(
                f"ALTER TABLE auditlog_logentry DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )


def fill_companies(apps, connection):
    """Company from the record (its ``company_id``, or itself for a company), one
    UPDATE per table, in SQL (the trail may hold millions of rows); for a user
    account, the actor's company when the actor belongs to exactly one. Entries of
    deleted records or of actors in several companies stay without one (operators
    only). Tables are found by Django's default name, ``<app>_<model>``: no audited
    model sets its own ``db_table``."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Membership = apps.get_model("accounts", "Membership")
    AuditEntry = apps.get_model("core", "AuditEntry")
    db = connection.alias
    tables = set(connection.introspection.table_names())
    postgres = connection.vendor == "postgresql"
    used = AuditEntry.objects.using(db).values_list("content_type_id", flat=True).distinct()
    with connection.cursor() as cursor:
        for content_type in ContentType.objects.using(db).filter(pk__in=list(used)):
            label = f"{content_type.app_label}.{content_type.model}"
            table = f"{content_type.app_label}_{content_type.model}"
            if label == "accounts.user":
                fill_user_entries(AuditEntry, Membership, db, content_type.pk)
                continue
            if table not in tables:
                continue
            if label == "accounts.company":
                source = "id"
            elif "company_id" in {
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            }:
                source = "company_id"
            else:
                continue
            quoted = connection.ops.quote_name(table)
            if postgres:
                cursor.execute(
                    f"UPDATE core_auditentry e SET company_id = t.{source} FROM {quoted} t "  # noqa: S608
                    "WHERE e.content_type_id = %s AND e.object_pk = t.id::text",
                    [content_type.pk],
                )
            else:
                # SQLite keeps UUIDs as 32 hex digits, without dashes.
                cursor.execute(
                    f"UPDATE core_auditentry SET company_id = (SELECT t.{source} FROM {quoted} t "  # noqa: S608
                    "WHERE t.id = replace(core_auditentry.object_pk, '-', '')) "
                    "WHERE content_type_id = %s",
                    [content_type.pk],
                )


def fill_user_entries(AuditEntry, Membership, db, content_type_id):
    sole = {}
    for user_id, company_id in Membership.objects.using(db).values_list(
        "user_id", "company_id"
    ):
        sole[user_id] = company_id if sole.get(user_id, company_id) == company_id else None
    for actor_id, company_id in sole.items():
        if company_id is not None:
            AuditEntry.objects.using(db).filter(
                content_type_id=content_type_id, actor_id=actor_id
            ).update(company_id=company_id)


def copy_back(apps, schema_editor):
    connection = schema_editor.connection
    if "auditlog_logentry" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO auditlog_logentry ({COLUMNS}) SELECT {COLUMNS} FROM core_auditentry "  # noqa: S608
            "WHERE id > (SELECT COALESCE(MAX(id), 0) FROM auditlog_logentry)"
        )
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('auditlog_logentry', 'id'), "
                "COALESCE((SELECT MAX(id) FROM auditlog_logentry), 1))"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_audit_trail"),
        ("auditlog", "0017_add_actor_email"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(copy_forward, copy_back)]
