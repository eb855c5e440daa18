"""create_claim_for_delivery: the claim a delivered order's purchases make, and each
refusal (nothing written)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import Conflict, InvalidTransition, ServiceError
from dme.choices import BillingKind, EquipmentCategory, LineKind, OrderStatus
from hme import services
from hme.choices import AuthorizationStatus, ClaimStatus, CoveragePriority
from hme.models import Authorization, Claim, ClaimLine
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import CPAPFactory, EquipmentFactory, OrderFactory
from tests.hme.factories import (
    AuthorizationFactory,
    CommercialPayerFactory,
    CoverageFactory,
    DeliveredLineFactory,
    DeliveredOrderFactory,
)

DELIVERED = timezone.localdate() - datetime.timedelta(days=5)


@pytest.fixture
def order(company):
    """A delivered order: a CPAP bought new (2 x $850.00) and a mask (A7030, supply)."""
    order = DeliveredOrderFactory(company=company, delivered_on=DELIVERED)
    cpap = CPAPFactory(company=company, billing_kind=BillingKind.PURCHASE)
    mask = EquipmentFactory(company=company, name="AirFit F20 full face mask")
    DeliveredLineFactory(order=order, equipment=cpap, quantity=2, unit_price=Decimal("850.00"))
    DeliveredLineFactory(order=order, equipment=mask, unit_price=Decimal("165.17"))
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient, code="G4733")
    DiagnosisFactory(company=company, patient=order.patient, code="I10")
    return order


def test_it_bills_the_delivered_purchases(order):
    claim = services.create_claim_for_delivery(order)
    assert claim.status == ClaimStatus.PENDING
    assert claim.order == order
    assert claim.patient == order.patient
    assert claim.coverage.priority == CoveragePriority.PRIMARY
    assert claim.billing_location == order.location
    assert claim.referring_provider == order.prescriber
    assert claim.diagnosis_codes == ["G4733", "I10"]
    lines = list(claim.lines.order_by("line_number"))
    assert [(line.hcpcs, line.modifiers, line.units, line.charge) for line in lines] == [
        ("E0601", ["NU"], 2, Decimal("1700.00")),
        ("A7030", [], 1, Decimal("165.17")),
    ]
    assert {line.date_of_service for line in lines} == {DELIVERED}
    assert all(line.diagnosis_pointers == [1, 2] for line in lines)
    assert claim.total_charge == Decimal("1865.17")


def test_rental_lines_are_left_to_the_monthly_run(order):
    rental_line = DeliveredLineFactory(
        order=order, kind=LineKind.RENTAL, equipment=CPAPFactory(company=order.company)
    )
    claim = services.create_claim_for_delivery(order)
    assert not claim.lines.filter(order_line=rental_line).exists()


def test_it_uses_the_coverage_in_force_on_the_date_of_service(order, company):
    old = order.patient.coverages.get()
    old.termination_date = DELIVERED - datetime.timedelta(days=1)
    old.save()
    new = CoverageFactory(
        company=company,
        patient=order.patient,
        payer=CommercialPayerFactory(company=company),
        member_id="XQH123456789",
        effective_date=DELIVERED,
    )
    claim = services.create_claim_for_delivery(order)
    assert claim.coverage == new
    assert claim.payer == new.payer


def nothing_written():
    return not Claim.objects.exists() and not ClaimLine.objects.exists()


def test_an_order_is_billed_once(order):
    claim = services.create_claim_for_delivery(order)
    with pytest.raises(Conflict) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "already_billed"
    assert claim.number in caught.value.message
    services.void_claim(claim, "Wrong coverage")
    again = services.create_claim_for_delivery(order)
    assert again.pk != claim.pk


def test_an_undelivered_order_is_refused(company):
    order = OrderFactory(company=company, status=OrderStatus.SCHEDULED)
    with pytest.raises(InvalidTransition) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "not_delivered"
    assert nothing_written()


def test_an_order_of_rentals_only_has_nothing_to_bill(company):
    order = DeliveredOrderFactory(company=company)
    DeliveredLineFactory(order=order, kind=LineKind.RENTAL, equipment=CPAPFactory(company=company))
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "nothing_to_bill"


def test_no_coverage_is_refused(order):
    order.patient.coverages.all().delete()
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "no_coverage"
    assert "no primary coverage in force" in caught.value.message
    assert nothing_written()


def test_a_secondary_coverage_alone_is_not_enough(order):
    order.patient.coverages.update(priority=CoveragePriority.SECONDARY)
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "no_coverage"


def test_coverage_that_ended_before_delivery_is_refused(order):
    coverage = order.patient.coverages.get()
    coverage.termination_date = DELIVERED - datetime.timedelta(days=1)
    coverage.save()
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "no_coverage"


def test_a_missing_diagnosis_is_refused(order):
    order.patient.diagnoses.update(is_active=False)
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "missing_diagnosis"
    assert nothing_written()


def test_a_purchase_line_without_nu_or_ue_is_refused(order):
    order.lines.filter(equipment__hcpcs_code="E0601").update(modifiers=["KX"])
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(order)
    assert "add RR (rental), NU (new purchase) or UE (used purchase)" in caught.value.message
    assert nothing_written()


# Prior authorization ---------------------------------------------------------------------


@pytest.fixture
def wheelchair_order(company):
    """A delivered power wheelchair (K0823: prior authorization required)."""
    order = DeliveredOrderFactory(company=company, delivered_on=DELIVERED)
    chair = CPAPFactory(
        company=company,
        name="Group 2 power wheelchair",
        hcpcs_code="K0823",
        category=EquipmentCategory.MOBILITY,
        billing_kind=BillingKind.CAPPED_RENTAL,
        purchase_price=Decimal("4023.33"),
    )
    DeliveredLineFactory(order=order, equipment=chair, modifiers=["NU", "KX"])
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient, code="G35")
    return order


def test_an_approved_authorization_is_drawn(wheelchair_order, company):
    authorization = AuthorizationFactory(
        company=company, coverage=wheelchair_order.patient.coverages.get(), units_approved=2
    )
    claim = services.create_claim_for_delivery(wheelchair_order)
    line = claim.lines.get()
    assert line.authorization == authorization
    authorization.refresh_from_db()
    assert authorization.units_used == 1
    services.void_claim(claim)
    authorization.refresh_from_db()
    assert authorization.units_used == 0


def test_a_missing_authorization_is_refused(wheelchair_order):
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(wheelchair_order)
    assert caught.value.code == "authorization_required"
    assert "K0823 (power mobility device) needs prior authorization" in caught.value.message
    assert "none is on file" in caught.value.message
    assert nothing_written()


def test_an_expired_authorization_is_refused(wheelchair_order, company):
    AuthorizationFactory(
        company=company,
        coverage=wheelchair_order.patient.coverages.get(),
        valid_from=DELIVERED - datetime.timedelta(days=200),
        valid_to=DELIVERED - datetime.timedelta(days=20),
    )
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(wheelchair_order)
    assert "expired on" in caught.value.message
    assert nothing_written()


def test_an_exhausted_authorization_is_refused_and_keeps_its_units(wheelchair_order, company):
    authorization = AuthorizationFactory(
        company=company, coverage=wheelchair_order.patient.coverages.get(), units_approved=1
    )
    Authorization.objects.filter(pk=authorization.pk).update(units_used=1)
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(wheelchair_order)
    assert "0 unit(s) left of 1" in caught.value.message
    authorization.refresh_from_db()
    assert authorization.units_used == 1
    assert nothing_written()


def test_a_requested_authorization_is_not_enough(wheelchair_order, company):
    AuthorizationFactory(
        company=company,
        coverage=wheelchair_order.patient.coverages.get(),
        status=AuthorizationStatus.REQUESTED,
        number="",
        valid_from=None,
        valid_to=None,
        units_approved=0,
    )
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(wheelchair_order)
    assert "the request on file is requested" in caught.value.message


def test_another_coverages_authorization_does_not_count(wheelchair_order, company):
    AuthorizationFactory(company=company)
    with pytest.raises(ServiceError):
        services.create_claim_for_delivery(wheelchair_order)
