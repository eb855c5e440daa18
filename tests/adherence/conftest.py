"""Shared helpers of the adherence tests: a PAP rental and usage files."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from dme.choices import AssetStatus
from tests.dme.factories import AssetFactory, RentalFactory

TODAY = timezone.localdate()


def pap_rental(company, start=None, *, serial=None, hcpcs="E0601", **fields):
    """A PAP rental of ``company`` started on ``start`` (default 100 days ago), its unit
    carrying ``serial`` when given."""
    start = start or TODAY - datetime.timedelta(days=100)
    rental = RentalFactory(
        company=company, start_date=start, order_line__equipment__hcpcs_code=hcpcs, **fields
    )
    if serial:
        unit = AssetFactory(
            company=company,
            equipment=rental.equipment,
            serial_number=serial,
            status=AssetStatus.WITH_PATIENT,
            location=None,
            patient=rental.patient,
        )
        type(rental).objects.filter(pk=rental.pk).update(asset=unit)
        rental.refresh_from_db()
    return rental


def usage_csv(start, hours, *, serial="", patient="", ahi="3.0", leak="12.0", header=None):
    """An AirView-like export: night i (from ``start``) used ``hours[i]`` hours."""
    lines = ["ResMed AirView usage report"]
    if serial:
        lines.append(f"Serial Number,{serial}")
    if patient:
        lines.append(f"Patient ID,{patient}")
    lines.append(header or "Date,Usage (hours),AHI,Leak 95th percentile (L/min)")
    for i, value in enumerate(hours):
        night = start + datetime.timedelta(days=i)
        lines.append(f"{night.isoformat()},{value},{ahi},{leak}")
    return ("\n".join(lines) + "\n").encode()


def good(n, value="6.5"):
    return [Decimal(value)] * n


@pytest.fixture
def rental(company):
    return pap_rental(company, serial="23221D0001")
