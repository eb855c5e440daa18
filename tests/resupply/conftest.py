"""A patient with PAP supplies delivered (proof of delivery on ``DELIVERED_ON``)."""

import datetime

import pytest

from tests.dme.factories import EquipmentFactory
from tests.hme.factories import DeliveredLineFactory, DeliveredOrderFactory

DELIVERED_ON = datetime.date(2026, 9, 1)


@pytest.fixture
def mask(company):
    return EquipmentFactory(company=company, hcpcs_code="A7030", name="Full face mask")


@pytest.fixture
def filters(company):
    return EquipmentFactory(company=company, hcpcs_code="A7038", name="Disposable filter")


@pytest.fixture
def delivered(company, mask, filters):
    """The order delivered on DELIVERED_ON: 1 full face mask (1 per 3 months: runs out
    2026-12-01) and 2 disposable filters (2 per month: run out 2026-10-01)."""
    order = DeliveredOrderFactory(
        company=company,
        delivered_on=DELIVERED_ON,
        written_order_date=DELIVERED_ON - datetime.timedelta(days=10),
        prescriber_signed_on=DELIVERED_ON - datetime.timedelta(days=10),
    )
    DeliveredLineFactory(order=order, equipment=mask, quantity=1)
    DeliveredLineFactory(order=order, equipment=filters, quantity=2)
    return order


@pytest.fixture
def patient(delivered):
    return delivered.patient


def at_noon(day):
    """A moment on ``day`` (local time), for contacts recorded on a given day."""
    from django.utils import timezone

    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))
