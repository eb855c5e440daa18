"""Rental months as DME records them: one row per month, the cap, and the
data-quality check for a gap in a rental's months."""

import datetime

import pytest

from core.exceptions import InvalidTransition
from core.quality.runner import run_checks
from dme import services
from dme.choices import RentalStatus
from dme.models import RentalMonth
from tests.dme.factories import RentalFactory

pytestmark = pytest.mark.django_db
START = datetime.date(2025, 1, 31)


def found(name):
    finding = run_checks([name]).findings.get()
    return finding.count, finding.sample_ids


def test_months_are_recorded_once_each_up_to_the_cap(company):
    rental = RentalFactory(company=company, start_date=START)
    assert services.record_rental_month(rental, as_of=START - datetime.timedelta(days=1)) is None
    days = [services.record_rental_month(rental).date_of_service for _ in range(13)]
    # The anniversary clamps to a short month's end.
    assert days[:3] == [START, datetime.date(2025, 2, 28), datetime.date(2025, 3, 31)]
    rental.refresh_from_db()
    assert (rental.status, rental.months_billed, rental.next_bill_date) == (
        RentalStatus.CAPPED,
        13,
        None,
    )
    with pytest.raises(InvalidTransition, match="no more months are billed"):
        services.record_rental_month(rental)
    assert RentalMonth.objects.filter(rental=rental).count() == 13


def test_it_finds_a_gap_in_a_rentals_months(company):
    rental = RentalFactory(company=company, start_date=START)
    for _ in range(3):
        services.record_rental_month(rental)
    assert found("dme.rental_months_without_gap") == (0, [])
    RentalMonth.objects.filter(rental=rental, sequence=2).delete()
    assert found("dme.rental_months_without_gap") == (1, [str(rental.pk)])
