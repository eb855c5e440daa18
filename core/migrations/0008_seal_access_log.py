"""Start the access-log hash chains: number and hash the rows written before the
chain existed, company by company in id order, and create each chain's head.

Sealing says "from here on, changes are detectable"; it cannot vouch for what
happened to those rows before. Going back clears the chain columns and heads.
"""

from django.db import migrations

BATCH = 2000


def seal(apps, schema_editor):
    from core.access import chain_key, hash_key, row_hash

    db = schema_editor.connection.alias
    AccessLog = apps.get_model("core", "AccessLog")
    AccessLogChain = apps.get_model("core", "AccessLogChain")
    key = hash_key()
    companies = AccessLog.objects.using(db).values_list("company_id", flat=True).distinct()
    for company_id in list(companies):
        rows = AccessLog.objects.using(db).filter(company_id=company_id).order_by("id")
        seq, previous, last_id = 0, "", 0
        while True:
            batch = list(rows.filter(id__gt=last_id)[:BATCH])
            if not batch:
                break
            for row in batch:
                seq += 1
                row.seq = seq
                row.hash = row_hash(row, previous, key)
                previous = row.hash
            AccessLog.objects.using(db).bulk_update(batch, ["seq", "hash"])
            last_id = batch[-1].id
        AccessLogChain.objects.using(db).update_or_create(
            key=chain_key(company_id), defaults={"last_seq": seq, "last_hash": previous}
        )


def unseal(apps, schema_editor):
    db = schema_editor.connection.alias
    apps.get_model("core", "AccessLog").objects.using(db).update(seq=None, hash="")
    apps.get_model("core", "AccessLogChain").objects.using(db).all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0007_copy_audit_entries")]

    operations = [migrations.RunPython(seal, unseal)]
