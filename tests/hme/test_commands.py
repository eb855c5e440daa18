"""manage.py bill_rental_months: bills what is due, once; reports failures, exit 1."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import RentalFactory
from tests.hme.factories import CoverageFactory

START = datetime.date(2025, 1, 15)


@pytest.fixture
def rental(company):
    rental = RentalFactory(company=company, start_date=START)
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient)
    return rental


def test_it_bills_what_is_due_and_nothing_twice(rental, capsys):
    call_command("bill_rental_months", as_of="2025-03-15")
    out = capsys.readouterr().out
    assert "Billed 3 rental month(s) as of 2025-03-15" in out
    call_command("bill_rental_months", as_of="2025-03-15")
    assert "Billed 0 rental month(s)" in capsys.readouterr().out
    assert rental.claims.count() == 3
    assert {c.total_charge for c in rental.claims.all()} == {Decimal("85.00")}


def test_it_reports_failures_and_exits_non_zero(rental, company, capsys):
    RentalFactory(company=company, start_date=START)  # no coverage, no diagnosis
    with pytest.raises(CommandError) as caught:
        call_command("bill_rental_months", as_of="2025-01-20")
    assert "1 rental(s) with errors" in str(caught.value)
    assert "no primary coverage" in capsys.readouterr().err
    assert rental.claims.count() == 1


@pytest.mark.parametrize("value", ["yesterday", "2999-01-01"])
def test_it_refuses_bad_dates(db, value):
    with pytest.raises(CommandError):
        call_command("bill_rental_months", as_of=value)
