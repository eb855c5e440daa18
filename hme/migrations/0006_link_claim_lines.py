from django.db import migrations


def link_lines(apps, schema_editor):
    """Point the existing lines at what they bill: rental claims' lines at their rental
    month (made by dme 0003 from the months billed, or here), purchase lines keep their
    order line; lines on void claims stop counting; a line that bills nothing, or an
    item a second time, is marked legacy (the data-quality checks list them)."""
    from dateutil.relativedelta import relativedelta

    ClaimLine = apps.get_model("hme", "ClaimLine")
    RentalMonth = apps.get_model("dme", "RentalMonth")
    seen = set()
    lines = ClaimLine.objects.select_related("claim", "claim__coverage", "claim__rental").order_by(
        "claim__created_at", "claim_id", "line_number"
    )
    for line in lines.iterator(chunk_size=2000):
        claim = line.claim
        line.payer_sequence = claim.coverage.priority
        line.live = claim.status != "void"
        if claim.rental_id and claim.rental_month:
            month = RentalMonth.objects.filter(
                rental_id=claim.rental_id, sequence=claim.rental_month
            ).first()
            if month is None:
                month = RentalMonth.objects.create(
                    company_id=claim.company_id,
                    rental_id=claim.rental_id,
                    sequence=claim.rental_month,
                    period=1,
                    number=claim.rental_month,
                    date_of_service=claim.rental.start_date
                    + relativedelta(months=claim.rental_month - 1),
                    paid=True,
                )
            line.rental_month_id = month.pk
            line.order_line_id = None
        key = None
        if line.rental_month_id:
            key = ("month", line.rental_month_id, line.payer_sequence)
        elif line.order_line_id:
            key = ("line", line.order_line_id, line.payer_sequence)
        if key is None or (line.live and key in seen):
            line.legacy = True
            line.rental_month_id = line.order_line_id = None
        elif line.live:
            seen.add(key)
        line.save(
            update_fields=["payer_sequence", "live", "rental_month", "order_line", "legacy"]
        )


def unlink_lines(apps, schema_editor):
    ClaimLine = apps.get_model("hme", "ClaimLine")
    for line in ClaimLine.objects.filter(rental_month__isnull=False).select_related(
        "rental_month__rental"
    ):
        line.order_line_id = line.rental_month.rental.order_line_id
        line.rental_month_id = None
        line.save(update_fields=["order_line", "rental_month"])


class Migration(migrations.Migration):
    dependencies = [
        ("hme", "0005_billing_path"),
    ]

    operations = [
        migrations.RunPython(link_lines, unlink_lines),
    ]
