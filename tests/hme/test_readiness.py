"""Ready to bill (hme.readiness): every reason shown, then cleared; billing's hold;
the extension point; a constant number of queries whatever the batch size."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinical.models import ICD10Code
from clinical.reference import invalidate_icd10
from core.exceptions import ServiceError
from dme import services as dme_services
from dme.choices import BillingKind, DeliveryMethod, EquipmentCategory, LineKind, OrderStatus
from dme.models import Delivery, DeliveryItem
from hme import readiness, services
from hme.choices import AuthorizationStatus
from hme.readiness import Reason, Severity
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import CPAPFactory, EquipmentFactory, OrderFactory, RentalFactory
from tests.hme.factories import (
    AuthorizationFactory,
    CoverageFactory,
    DeliveredLineFactory,
    DeliveredOrderFactory,
)

TODAY = timezone.localdate()
DELIVERED = TODAY - datetime.timedelta(days=5)


@pytest.fixture
def icd10(db):
    """A handful of codes, as ``load_icd10 --only`` would load them."""
    ICD10Code.objects.bulk_create(
        [
            ICD10Code(code="G4733", description="Obstructive sleep apnea", billable=True),
            ICD10Code(code="G47", description="Sleep disorders", billable=False),
            ICD10Code(code="I10", description="Essential (primary) hypertension", billable=True),
            ICD10Code(code="G35", description="Multiple sclerosis", billable=True),
        ]
    )


@pytest.fixture
def order(company, icd10):
    """A delivered order, complete: a CPAP bought new and a full face mask (supply),
    signed proof of delivery, Medicare coverage with a valid MBI, diagnosis G47.33."""
    order = DeliveredOrderFactory(company=company, delivered_on=DELIVERED)
    cpap = CPAPFactory(company=company, billing_kind=BillingKind.PURCHASE)
    mask = EquipmentFactory(company=company, name="AirFit F20 full face mask")
    DeliveredLineFactory(order=order, equipment=cpap, unit_price=Decimal("850.00"))
    DeliveredLineFactory(order=order, equipment=mask, unit_price=Decimal("165.17"))
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient, code="G4733")
    return order


def line_of(order, hcpcs):
    return order.lines.get(equipment__hcpcs_code=hcpcs)


def codes(line, **kwargs):
    return {reason.code for reason in readiness.line_reasons([line], **kwargs)[line.pk]}


def test_a_complete_order_is_ready(order):
    found = readiness.order_reasons([order])[order.pk]
    assert len(found) == 2
    assert all(reasons == [] for reasons in found.values())


# Standard written order ------------------------------------------------------------


def test_patient_name(order):
    line = line_of(order, "E0601")
    order.patient.__class__.objects.filter(pk=order.patient_id).update(last_name="")
    assert "swo_patient" in codes(line)
    order.patient.__class__.objects.filter(pk=order.patient_id).update(last_name="Rivera")
    assert "swo_patient" not in codes(line)


def test_item_code(order):
    line = line_of(order, "E0601")
    line.equipment.__class__.objects.filter(pk=line.equipment_id).update(hcpcs_code="")
    assert "swo_item" in codes(line)
    line.equipment.__class__.objects.filter(pk=line.equipment_id).update(hcpcs_code="E0601")
    assert "swo_item" not in codes(line)


def test_prescriber_name_and_npi(order):
    line = line_of(order, "E0601")
    prescriber = order.prescriber
    good = prescriber.npi
    type(prescriber).objects.filter(pk=prescriber.pk).update(last_name="", npi="")
    found = readiness.line_reasons([line])[line.pk]
    assert {"swo_prescriber_name", "npi_missing"} <= {r.code for r in found}
    npi = next(r for r in found if r.code == "npi_missing")
    assert npi.severity == Severity.ERROR
    assert (npi.fix.model, npi.fix.pk, npi.fix.field) == ("clinical.provider", prescriber.pk, "npi")
    type(prescriber).objects.filter(pk=prescriber.pk).update(npi="1234567890")
    assert "npi_invalid" in codes(line)  # the Luhn check over 80840 + 9 digits fails
    type(prescriber).objects.filter(pk=prescriber.pk).update(last_name="Okafor", npi=good)
    assert not {"swo_prescriber_name", "npi_missing", "npi_invalid"} & codes(line)


def test_prescriber_signature(order):
    line = line_of(order, "E0601")
    type(order).objects.filter(pk=order.pk).update(prescriber_signed_on=None)
    assert "swo_signature" in codes(line)
    type(order).objects.filter(pk=order.pk).update(prescriber_signed_on=order.written_order_date)
    assert "swo_signature" not in codes(line)


def test_verification_refuses_an_empty_npi(company):
    order = OrderFactory(company=company, status=OrderStatus.RECEIVED)
    EquipmentFactory(company=company)
    DeliveredLineFactory(order=order, equipment=EquipmentFactory(company=company))
    type(order.prescriber).objects.filter(pk=order.prescriber_id).update(npi="")
    order.refresh_from_db()
    with pytest.raises(ServiceError) as caught:
        dme_services.verify_order(order)
    assert caught.value.code == "incomplete_order"
    assert "NPI" in caught.value.message


# Diagnoses and the ICD-10-CM table ---------------------------------------------------


def test_no_diagnosis(order):
    line = line_of(order, "E0601")
    order.patient.diagnoses.update(is_active=False)
    assert "no_diagnosis" in codes(line)
    order.patient.diagnoses.update(is_active=True)
    assert "no_diagnosis" not in codes(line)


def test_icd10_format_unknown_category_and_dates(order):
    line = line_of(order, "E0601")
    diagnosis = order.patient.diagnoses.get()
    for code, reason in (
        ("ZZZ", "icd10_format"),
        ("G4799", "icd10_unknown"),
        ("G47", "icd10_not_billable"),
    ):
        type(diagnosis).objects.filter(pk=diagnosis.pk).update(code=code)
        assert reason in codes(line), code
    type(diagnosis).objects.filter(pk=diagnosis.pk).update(code="G4733")
    # Bulk updates send no signal: they invalidate the cached codes (clinical.reference)
    # as load_icd10 does.
    ICD10Code.objects.filter(code="G4733").update(
        effective_to=DELIVERED - datetime.timedelta(days=1)
    )
    invalidate_icd10()
    assert "icd10_not_in_force" in codes(line)
    ICD10Code.objects.filter(code="G4733").update(effective_to=None)
    invalidate_icd10()
    assert not {c for c in codes(line) if c.startswith("icd10")}


def test_an_empty_code_table_is_a_warning_not_a_pass(order):
    line = line_of(order, "E0601")
    ICD10Code.objects.all().delete()
    found = readiness.line_reasons([line])[line.pk]
    assert [(r.code, r.severity) for r in found] == [("icd10_table_empty", Severity.WARNING)]
    ICD10Code.objects.create(code="G4733", description="OSA", billable=True)
    assert codes(line) == set()


# Coverage and MBI --------------------------------------------------------------------


def test_coverage_in_force_on_the_date_of_service(order):
    line = line_of(order, "E0601")
    coverage = order.patient.coverages.get()
    coverage.termination_date = DELIVERED - datetime.timedelta(days=1)
    coverage.save()
    assert "no_coverage" in codes(line)
    coverage.termination_date = None
    coverage.save()
    assert "no_coverage" not in codes(line)


def test_medicare_needs_a_valid_mbi(order):
    line = line_of(order, "E0601")
    coverage = order.patient.coverages.get()
    good = coverage.member_id
    coverage.member_id = "1EG4TE5MK7S"  # S is never an MBI letter
    coverage.save()
    found = readiness.line_reasons([line])[line.pk]
    mbi = next(r for r in found if r.code == "mbi_invalid")
    assert "1EG4" not in mbi.message  # the member ID is never in a message
    coverage.member_id = good
    coverage.save()
    assert "mbi_invalid" not in codes(line)


# Prior authorization -----------------------------------------------------------------


@pytest.fixture
def wheelchair(order, company):
    equipment = CPAPFactory(
        company=company,
        name="Power wheelchair",
        hcpcs_code="K0823",
        category=EquipmentCategory.MOBILITY,
        billing_kind=BillingKind.PURCHASE,
    )
    return DeliveredLineFactory(order=order, equipment=equipment, modifiers=["NU"])


def test_prior_authorization_missing_pending_expired_used_up(wheelchair, order):
    coverage = order.patient.coverages.get()
    assert "prior_auth_missing" in codes(wheelchair)
    auth = AuthorizationFactory(
        company=order.company,
        coverage=coverage,
        status=AuthorizationStatus.REQUESTED,
        number="",
        valid_from=None,
        valid_to=None,
        units_approved=0,
    )
    assert "prior_auth_missing" in codes(wheelchair)
    type(auth).objects.filter(pk=auth.pk).update(
        status=AuthorizationStatus.EXPIRED,
        number="UTN1",
        units_approved=1,
        valid_from=DELIVERED - datetime.timedelta(days=200),
        valid_to=DELIVERED - datetime.timedelta(days=20),
    )
    assert "prior_auth_expired" in codes(wheelchair)
    type(auth).objects.filter(pk=auth.pk).update(
        status=AuthorizationStatus.APPROVED,
        valid_from=DELIVERED + datetime.timedelta(days=1),
        valid_to=DELIVERED + datetime.timedelta(days=100),
    )
    assert "prior_auth_not_yet" in codes(wheelchair)
    type(auth).objects.filter(pk=auth.pk).update(
        valid_from=DELIVERED - datetime.timedelta(days=10), units_used=1
    )
    assert "prior_auth_units" in codes(wheelchair)
    type(auth).objects.filter(pk=auth.pk).update(units_used=0)
    assert not {c for c in codes(wheelchair) if c.startswith("prior_auth")}


# Modifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("modifiers", "reason"),
    [
        ([], "modifier_nu_ue_missing"),
        (["NU", "KH"], "modifier_rental_month"),
        (["NU", "KX", "GA"], "modifier_kx_conflict"),
    ],
)
def test_purchase_modifiers(order, modifiers, reason):
    line = line_of(order, "E0601")
    type(line).objects.filter(pk=line.pk).update(modifiers=modifiers)
    assert reason in codes(line)
    type(line).objects.filter(pk=line.pk).update(modifiers=["NU", "KX"])  # KX: LCD L33718
    assert not {c for c in codes(line) if c.startswith("modifier")}


def test_kx_only_where_a_policy_uses_it(order, company):
    nebulizer = EquipmentFactory(
        company=company,
        hcpcs_code="E0570",
        category=EquipmentCategory.NEBULIZER,
        billing_kind=BillingKind.PURCHASE,
    )
    line = DeliveredLineFactory(order=order, equipment=nebulizer, modifiers=["NU", "KX"])
    assert "modifier_kx_no_policy" in codes(line)
    type(line).objects.filter(pk=line.pk).update(modifiers=["NU"])
    assert "modifier_kx_no_policy" not in codes(line)


def test_rental_needs_rr(order, company):
    line = DeliveredLineFactory(
        order=order,
        kind=LineKind.RENTAL,
        equipment=CPAPFactory(company=company, is_serialized=False),
    )
    type(line).objects.filter(pk=line.pk).update(modifiers=[])
    assert "modifier_rr_missing" in codes(line)
    type(line).objects.filter(pk=line.pk).update(modifiers=["RR"])
    assert "modifier_rr_missing" not in codes(line)


def test_claim_of_a_rental_month_needs_its_kh_ki_kj(company, icd10):
    rental = RentalFactory(company=company, start_date=TODAY - datetime.timedelta(days=70))
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    claim = services.bill_next_rental_month(rental, TODAY)
    assert claim.lines.get().modifiers[:2] == ["RR", "KH"]
    assert readiness.claim_reasons([claim])[claim.pk] == []
    claim.lines.update(modifiers=["RR", "KJ"])
    found = readiness.claim_reasons([claim])[claim.pk]
    assert [r.code for r in found] == ["modifier_rental_month"]


# Proof of delivery -------------------------------------------------------------------


def test_proof_of_delivery(order):
    line = line_of(order, "E0601")
    delivery = order.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(signer_name="")
    assert "pod_signature" in codes(line)
    Delivery.objects.filter(pk=delivery.pk).update(method=DeliveryMethod.SHIPPED, carrier="UPS")
    assert "pod_tracking" in codes(line)
    Delivery.objects.filter(pk=delivery.pk).update(tracking_number="1Z999")
    assert not {c for c in codes(line) if c.startswith("pod")}
    DeliveryItem.objects.filter(order_line=line).delete()
    assert "pod_item" in codes(line)


def test_no_delivery_yet(company, icd10):
    order = OrderFactory(company=company, status=OrderStatus.CONFIRMED)
    line = DeliveredLineFactory(order=order, equipment=EquipmentFactory(company=company))
    assert "pod_missing" in codes(line)
    Delivery.objects.create(
        company=company,
        order=order,
        status="delivered",
        scheduled_date=DELIVERED,
        address="1 Main St",
        delivered_on=DELIVERED,
        signer_name="Pat",
        signer_relationship="patient",
    )
    assert "pod_missing" not in codes(line)


# Timely filing -----------------------------------------------------------------------


def test_timely_filing_days_left_then_past(order):
    line = line_of(order, "E0601")
    found = readiness.line_reasons([line], on=DELIVERED + datetime.timedelta(days=330))[line.pk]
    soon = next(r for r in found if r.code == "timely_filing_soon")
    assert soon.severity == Severity.WARNING
    assert "35 day(s) left" in soon.message
    late = codes(line, on=DELIVERED + datetime.timedelta(days=366))
    assert "timely_filing_past" in late
    assert not {c for c in codes(line) if c.startswith("timely")}


# Same or similar, frequency ----------------------------------------------------------


def test_same_or_similar_inside_five_years(order, company):
    line = line_of(order, "E0601")
    earlier = DeliveredOrderFactory(
        company=company,
        patient=order.patient,
        prescriber=order.prescriber,
        delivered_on=DELIVERED - datetime.timedelta(days=700),
        written_order_date=DELIVERED - datetime.timedelta(days=710),
    )
    old = DeliveredLineFactory(
        order=earlier, equipment=CPAPFactory(company=company, billing_kind=BillingKind.PURCHASE)
    )
    found = readiness.line_reasons([line])[line.pk]
    reason = next(r for r in found if r.code == "same_or_similar")
    assert reason.severity == Severity.WARNING
    assert earlier.number in reason.message
    type(earlier).objects.filter(pk=earlier.pk).update(
        delivered_on=DELIVERED - datetime.timedelta(days=5 * 366)
    )
    assert "same_or_similar" not in codes(line)
    assert old.pk


def test_supplies_more_often_than_the_usual_maximum(order, company):
    line = line_of(order, "A7030")  # 1 full face mask per 3 months (LCD L33718)
    earlier = DeliveredOrderFactory(
        company=company,
        patient=order.patient,
        prescriber=order.prescriber,
        delivered_on=DELIVERED - datetime.timedelta(days=40),
        written_order_date=DELIVERED - datetime.timedelta(days=45),
    )
    DeliveredLineFactory(order=earlier, equipment=line.equipment)
    found = readiness.line_reasons([line])[line.pk]
    early = next(r for r in found if r.code == "frequency_early")
    assert early.severity == Severity.WARNING
    Delivery.objects.filter(order=earlier).update(
        delivered_on=DELIVERED - datetime.timedelta(days=100)
    )
    assert "frequency_early" not in codes(line)


# Billing's hold ----------------------------------------------------------------------


def test_bill_from_delivery_refuses_a_held_line_with_the_reason(order):
    type(order).objects.filter(pk=order.pk).update(prescriber_signed_on=None)
    with pytest.raises(ServiceError) as caught:
        services.create_claim_for_delivery(order)
    assert caught.value.code == "on_hold"
    assert "no prescriber signature date" in caught.value.message
    assert caught.value.fields == {"reasons": ["swo_signature"]}
    assert not order.claims.exists()
    type(order).objects.filter(pk=order.pk).update(prescriber_signed_on=order.written_order_date)
    assert services.create_claim_for_delivery(order).lines.count() == 2


def test_warnings_do_not_hold(order):
    ICD10Code.objects.all().delete()  # icd10_table_empty: a warning
    assert services.create_claim_for_delivery(order).lines.count() == 2


def test_the_rental_run_holds_a_month_and_says_why(company, icd10):
    rental = RentalFactory(company=company, start_date=TODAY - datetime.timedelta(days=10))
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    prescriber = rental.order.prescriber
    good = prescriber.npi
    type(prescriber).objects.filter(pk=prescriber.pk).update(npi="1234567890")
    run = services.bill_rental_months(as_of=TODAY)
    assert run.claims == []
    assert "On hold" in run.errors[0][1]
    assert "NPI" in run.errors[0][1]
    with pytest.raises(ServiceError) as caught:
        services.bill_next_rental_month(rental, TODAY)
    assert caught.value.code == "on_hold"
    type(prescriber).objects.filter(pk=prescriber.pk).update(npi=good)
    assert len(services.bill_rental_months(as_of=TODAY).claims) == 1


# Extension point and query count -----------------------------------------------------


def test_register_check_adds_a_reason(order):
    line = line_of(order, "E0601")

    def signed_order_document(batch):
        for each in batch.lines:
            yield (
                each.pk,
                Reason("swo_document_missing", "No signed order on file.", Severity.ERROR),
            )

    readiness.register_check(signed_order_document)
    try:
        assert "swo_document_missing" in codes(line)
        with pytest.raises(ServiceError):
            services.create_claim_for_delivery(order)
    finally:
        readiness.unregister_check(signed_order_document)
    assert "swo_document_missing" not in codes(line)


def _orders(company, count):
    made = []
    for _ in range(count):
        order = DeliveredOrderFactory(company=company, delivered_on=DELIVERED)
        DeliveredLineFactory(order=order, equipment=EquipmentFactory(company=company))
        DeliveredLineFactory(
            order=order, equipment=CPAPFactory(company=company, billing_kind=BillingKind.PURCHASE)
        )
        CoverageFactory(company=company, patient=order.patient)
        DiagnosisFactory(company=company, patient=order.patient, code="G4733")
        made.append(order)
    return made


def test_queries_do_not_grow_with_the_batch(company, icd10):
    orders = _orders(company, 12)
    with CaptureQueriesContext(connection) as small:
        readiness.order_reasons(orders[:2])
    with CaptureQueriesContext(connection) as large:
        found = readiness.order_reasons(orders)
    assert len(large) == len(small) <= 15
    assert sum(len(lines) for lines in found.values()) == 24
