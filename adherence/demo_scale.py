"""``seed_demo --scale N``: nightly usage for the PAP rentals of this run's patients,
in bulk, with their adherence evaluated (``adherence.rules``): the training set of
``manage.py train_adherence_model``. The compliance alerts and the digital twins come
with the daily run (``manage.py run_adherence``) and each later import."""

import datetime

from django.utils import timezone

from clinical.demo_scale import scaled_patients
from core.seeding import Batch, each_batch, insert, row

from . import rules
from .choices import UsageSource
from .demo_data import nights_for
from .models import AdherenceStatus, UsageNight
from .services import pap_rentals


def _inputs(context, plan, yesterday):
    """Each batch's PAP rentals not evaluated yet: what DME wrote, read before the last
    batch's writes are made (``core.seeding.each_batch``)."""
    for patients in scaled_patients(context, plan):
        ids = [row["id"] for row in patients]
        rentals = (
            pap_rentals(context.company)
            .filter(patient_id__in=ids, start_date__lte=yesterday)
            .exclude(adherence__isnull=False)
            .values("id", "patient_id", "start_date")
            .order_by("patient_id", "start_date")
        )
        yield Batch(patients=patients, rentals=list(rentals))


def seed_scale(context, plan):
    if not plan.count:
        return
    rng = plan.rng("adherence")
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    now = timezone.now()
    for batch in each_batch(context, "adherence", plan, _inputs(context, plan, yesterday)):
        nights, statuses = [], []
        for rental in batch.rentals:
            rows = nights_for(rng, rental["start_date"], yesterday)
            nights += [
                row(
                    UsageNight,
                    company=context.company,
                    rental_id=rental["id"],
                    patient_id=rental["patient_id"],
                    night=night,
                    hours=hours,
                    ahi=ahi,
                    leak=leak,
                    source=UsageSource.AIRVIEW,
                )
                for night, hours, ahi, leak in rows
            ]
            evaluation = rules.evaluate(
                rental["start_date"], {night: hours for night, hours, _, _ in rows}, today
            )
            statuses.append(
                row(
                    AdherenceStatus,
                    company=context.company,
                    rental_id=rental["id"],
                    patient_id=rental["patient_id"],
                    state=evaluation.state,
                    period_start=evaluation.start,
                    period_end=evaluation.period_end,
                    known_through=evaluation.known_through,
                    nights_recorded=evaluation.nights_recorded,
                    best_window_start=evaluation.best_window_start,
                    best_window_nights=evaluation.best_window_nights,
                    met_on=evaluation.met_on,
                    trailing_nights=evaluation.trailing_nights,
                    trailing_days=evaluation.trailing_days,
                    days_remaining=evaluation.days_remaining,
                    evaluated_at=now,
                )
            )
        insert(context, UsageNight, nights, "usage nights")
        insert(context, AdherenceStatus, statuses, "adherence statuses")
