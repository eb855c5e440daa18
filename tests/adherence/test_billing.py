"""KX on PAP rental months 4 and later only when adherence is met (LCD L33718; policy
article A52467): the claim line builder's modifier hook and the readiness reason."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adherence import services as adherence
from adherence.hooks import NO_DATA_CODE, READINESS_CODE
from hme import readiness, services
from hme.models import Claim
from hme.rules import month_date_of_service
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import ConcentratorFactory, RentalFactory
from tests.hme.factories import CoverageFactory

from .conftest import good, pap_rental, usage_csv

START = datetime.date(2025, 1, 15)


def month(number):
    return month_date_of_service(START, number)


def billable(rental):
    CoverageFactory(company=rental.company, patient=rental.patient)
    DiagnosisFactory(company=rental.company, patient=rental.patient, code="G4733")
    return rental


@pytest.fixture
def cpap(company):
    return billable(pap_rental(company, START, serial="SN-KX", order_line__modifiers=["RR", "KX"]))


def modifiers(rental):
    claims = Claim.objects.filter(rental=rental).order_by("rental_month").prefetch_related("lines")
    return [c.lines.get().modifiers for c in claims]


def test_months_4_on_carry_kx_when_adherence_is_met(company, cpap):
    adherence.import_usage(company, usage_csv(START, good(30), serial="SN-KX"))
    run = services.bill_rental_months(as_of=month(5))
    assert not run.errors
    assert modifiers(cpap) == [
        ["RR", "KH", "KX"],
        ["RR", "KI", "KX"],
        ["RR", "KI", "KX"],
        ["RR", "KJ", "KX"],
        ["RR", "KJ", "KX"],
    ]


def test_kx_is_added_on_months_4_on_when_met_even_if_the_order_line_lacks_it(company):
    rental = billable(pap_rental(company, START, serial="SN-NOKX"))
    adherence.import_usage(company, usage_csv(START, good(25), serial="SN-NOKX"))
    services.bill_rental_months(as_of=month(4))
    assert modifiers(rental) == [["RR", "KH"], ["RR", "KI"], ["RR", "KI"], ["RR", "KJ", "KX"]]


def test_month_4_is_held_when_adherence_is_not_met(company, cpap):
    adherence.import_usage(company, usage_csv(START, [Decimal("2.5")] * 90, serial="SN-KX"))
    run = services.bill_rental_months(as_of=month(5))
    assert len(run.claims) == 3
    assert [pk for pk, _ in run.errors] == [cpap.pk]
    assert "adherence is not met" in run.errors[0][1]
    reasons = readiness.line_reasons([cpap.order_line_id], on=month(4))[cpap.order_line_id]
    found = [r for r in reasons if r.code == READINESS_CODE]
    assert len(found) == 1
    assert found[0].is_error
    assert "L33718" in found[0].source


def test_months_1_to_3_never_wait_for_adherence(company, cpap):
    adherence.import_usage(company, usage_csv(START, [Decimal("1.0")] * 20, serial="SN-KX"))
    run = services.bill_rental_months(as_of=month(3))
    assert not run.errors
    assert len(run.claims) == 3


def test_without_usage_month_4_bills_without_kx_and_warns(company, cpap):
    run = services.bill_rental_months(as_of=month(4))
    assert not run.errors
    assert modifiers(cpap)[3] == ["RR", "KJ"]
    reasons = readiness.line_reasons([cpap.order_line_id], on=month(4))[cpap.order_line_id]
    warning = next(r for r in reasons if r.code == NO_DATA_CODE)
    assert not warning.is_error


def test_other_rentals_are_not_touched(company):
    rental = billable(
        RentalFactory(
            company=company,
            start_date=START,
            order_line__equipment=ConcentratorFactory(company=company),
            order_line__modifiers=["RR"],
        )
    )
    services.bill_rental_months(as_of=month(4))
    reasons = readiness.line_reasons([rental.order_line_id], on=month(4))[rental.order_line_id]
    assert not [r for r in reasons if r.code in (READINESS_CODE, NO_DATA_CODE)]


def test_the_check_costs_one_query_whatever_the_batch(company):
    rentals = [pap_rental(company, START, serial=f"SN-Q{i}") for i in range(5)]
    for rental in rentals:
        adherence.import_usage(
            company, usage_csv(START, good(3), serial=rental.asset.serial_number)
        )

    def count(lines):
        with CaptureQueriesContext(connection) as queries:
            readiness.line_reasons(lines, on=month(5))
        return len(queries)

    assert count([r.order_line_id for r in rentals[:1]]) == count(
        [r.order_line_id for r in rentals]
    )
