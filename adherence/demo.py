"""Adherence demo data: usage for the demo's PAP rentals, imported as files would be.

The demo's CPAP (started about 120 days ago) gets a well-used 90 days (the rule is
met, KX goes on months 4 on); its BiPAP (about 30 days ago) a poor start (the
compliance alert is open). Invented numbers (``demo_data``). Running it again adds
nothing (a rental with nights is skipped).
"""

import datetime
import random

from django.utils import timezone

from dme.choices import RentalStatus

from . import services
from .demo_data import as_csv, nights_for
from .models import UsageImport, UsageNight


def seed(context):
    rentals = (
        services.pap_rentals(context.company)
        .exclude(status=RentalStatus.RETURNED)
        .select_related("patient", "equipment")
        .order_by("start_date", "id")
    )
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    before = UsageImport.objects.filter(company=context.company).count()
    for index, rental in enumerate(rentals):
        if UsageNight.objects.filter(rental=rental).exists():
            continue  # imported by an earlier run
        rng = random.Random(f"adherence-demo:{rental.patient.number}")  # noqa: S311
        e = 0.9 if index % 2 == 0 else 0.2
        nights = nights_for(rng, rental.start_date, yesterday, e=e)
        if not nights:
            continue
        services.import_usage_into(rental, as_csv(nights), today=today)
    context.count(
        "usage imports", UsageImport.objects.filter(company=context.company).count() - before
    )
