"""The lean list representation (core.api.lean) gives byte for byte what the full
serializer gives for the same rows: the orders, patients and claims pages, and a
serializer with every kind of field the plan treats apart."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.choices import Role
from clinical.api.serializers import PatientSerializer
from clinical.models import Patient
from core.api.lean import LeanListSerializer
from core.api.serializers import TenantModelSerializer
from dme.api.serializers import OrderSerializer
from dme.choices import LineKind, OrderStatus
from dme.models import Order
from hme.api.serializers import ClaimSerializer
from hme.models import Claim
from tests.clinical.factories import PatientFactory
from tests.dme.factories import (
    ConcentratorFactory,
    CPAPFactory,
    OrderFactory,
    OrderLineFactory,
    WarehouseFactory,
)
from tests.factories import member
from tests.hme.factories import ClaimFactory, claim_line

pytestmark = pytest.mark.django_db


def render(data):
    return JSONRenderer().render(data)


@pytest.fixture
def administrator(company):
    return member(company, Role.ADMINISTRATOR, email="lean-admin@a.test")


@pytest.fixture
def context(administrator, company):
    request = Request(APIRequestFactory().get("/"))
    request.user = administrator
    return {"request": request, "company": company}


def full(serializer_class, queryset, page, context):
    """DRF's own walk over the page's rows, one instance at a time (no lean list)."""
    rows = {str(pk): row for pk, row in queryset.in_bulk([row["id"] for row in page]).items()}
    return [serializer_class(rows[row["id"]], context=context).data for row in page]


@pytest.fixture
def orders(company):
    warehouse = WarehouseFactory(company=company)
    cpap = CPAPFactory(company=company, purchase_price=Decimal("850.00"))
    concentrator = ConcentratorFactory(company=company, monthly_rental_fee=Decimal("199.99"))
    plain = OrderFactory(company=company, location=warehouse, notes="Ring twice; dog in yard.")
    OrderLineFactory(company=company, order=plain, equipment=cpap, unit_price=Decimal("850"))
    OrderLineFactory(
        company=company,
        order=plain,
        equipment=concentrator,
        kind=LineKind.RENTAL,
        quantity=2,
        unit_price=Decimal("199.99"),
        recurrence_months=1,
    )
    # Nulls: no lines, no signature date, no notes; cancelled with an encrypted reason.
    cancelled = OrderFactory(
        company=company,
        location=warehouse,
        notes="",
        prescriber_signed_on=None,
        status=OrderStatus.CANCELLED,
        cancelled_at=timezone.now() - datetime.timedelta(hours=3),
        cancellation_reason="Patient moved out of state",
    )
    return [plain, cancelled]


def test_the_orders_page_is_the_full_serializer_byte_for_byte(
    orders, administrator, company, context, api_client_for
):
    response = api_client_for(administrator, company).get(reverse("api:order-list"))
    assert response.status_code == 200
    page = response.data["results"]
    assert {row["id"] for row in page} == {str(order.pk) for order in orders}
    expected = full(OrderSerializer, Order.objects.prefetch_related("lines"), page, context)
    assert render(page) == render(expected)
    shown = {row["number"]: row for row in page}
    plain, cancelled = (shown[order.number] for order in orders)
    # What the comparison covers: nested lines, money, dates, enums, nulls, PHI.
    assert len(plain["lines"]) == 2
    assert cancelled["lines"] == []
    assert {line["unit_price"] for line in plain["lines"]} == {"850.00", "199.99"}
    assert cancelled["prescriber_signed_on"] is None
    assert cancelled["cancellation_reason"] == "Patient moved out of state"
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"]


def test_the_patients_page_is_the_full_serializer_byte_for_byte(
    company, administrator, context, api_client_for
):
    PatientFactory(company=company, last_name="Abernathy", notes="Latex allergy.")
    PatientFactory(company=company, last_name="Zimmer", phone="", email="", address_line2="")
    response = api_client_for(administrator, company).get(reverse("api:patient-list"))
    assert response.status_code == 200
    page = response.data["results"]
    expected = full(PatientSerializer, Patient.objects, page, context)
    assert render(page) == render(expected)
    assert page[0]["notes"] == "Latex allergy."
    assert page[0]["dob"]
    assert "confirm_duplicate" not in page[0]  # write-only, as before


def test_the_claims_page_is_the_full_serializer_byte_for_byte(
    company, administrator, context, api_client_for
):
    ClaimFactory(company=company)
    ClaimFactory(company=company, lines=[claim_line(charge=Decimal("12.50"), units=3)])
    response = api_client_for(administrator, company).get(reverse("api:claim-list"))
    assert response.status_code == 200
    page = response.data["results"]
    expected = full(ClaimSerializer, Claim.objects.prefetch_related("lines"), page, context)
    assert render(page) == render(expected)
    assert all(row["patient_number"] for row in page)


class Probe(TenantModelSerializer):
    """Every reading the plan treats apart: a related id, a nested list, a method
    field, a dotted source, a property, a field of its own with its own reading, and a
    field DRF leaves out of the row (``SkipField``)."""

    class Shouting(serializers.CharField):
        def get_attribute(self, instance):
            return instance.number.lower()

    lines = serializers.SerializerMethodField()
    patient_last_name = serializers.CharField(source="patient.last_name")
    shouting = Shouting(source="number")
    is_editable = serializers.BooleanField()
    missing = serializers.CharField(source="no_such_attribute", required=False)

    class Meta:
        model = Order
        fields = [
            "id",
            "created_at",
            "patient",
            "status",
            "lines",
            "patient_last_name",
            "shouting",
            "is_editable",
            "missing",
            "written_order_date",
            "cancelled_at",
        ]

    def get_lines(self, order):
        return len(order.lines.all())


def test_every_kind_of_field_reads_as_drf_reads_it(orders, context):
    instances = list(Order.objects.prefetch_related("lines").order_by("number"))
    lean = LeanListSerializer(child=Probe(context=context), context=context)
    drf = serializers.ListSerializer(child=Probe(context=context), context=context)
    assert render(lean.to_representation(instances)) == render(drf.to_representation(instances))
    assert "missing" not in lean.to_representation(instances)[0]
