"""seed_demo --scale N: the demo company topped up to N patients in bulk, with
proportional orders, deliveries, rentals, coverage, claims and payments that keep every
invariant the services keep, numbers the services carry on from, PHI encrypted."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from encrypted_model_fields.fields import decrypt_str

from accounts.choices import LocationKind
from accounts.models import Company, Location
from clinical import services as clinical_services
from clinical.choices import Sex
from clinical.demo import PATIENTS as DEMO_PATIENTS
from clinical.demo import demo_patients
from clinical.models import Appointment, Diagnosis, MedicalRecord, Patient, PatientNumberCounter
from core.models import AuditEntry
from core.quality.registry import Severity
from core.quality.runner import run_checks
from core.validators import validate_mbi, validate_npi
from dme import services as dme_services
from dme.choices import LineKind, OrderStatus, RentalStatus
from dme.models import Delivery, Equipment, Order, OrderLine, OrderNumberCounter, Rental
from hme import services as hme_services
from hme.choices import ClaimStatus, PayerKind
from hme.demo_scale import scale_mbi
from hme.models import (
    Adjustment,
    Claim,
    ClaimLine,
    ClaimNumberCounter,
    Coverage,
    Payment,
    PaymentAllocation,
)

SCALE = 120
NEW = SCALE - len(DEMO_PATIENTS)


@pytest.fixture(scope="module")
def scaled(django_db_setup, django_db_blocker):
    """One bulk seeding for the whole module (the slow part), inside a transaction
    rolled back at the end: each test runs in a savepoint within it."""
    out = io.StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        call_command(
            "seed_demo", scale=SCALE, allow_production=True, stdout=out, stderr=io.StringIO()
        )
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def company(scaled):
    return Company.objects.get(name="Aries Demo Medical Supply")


@pytest.fixture
def bulk_patients(company):
    """The patients the scale part added (not the normal demo's)."""
    demo = [patient.pk for patient in demo_patients(company)]
    return Patient.objects.filter(company=company).exclude(pk__in=demo)


def between(value, low, high):
    return low <= value <= high


@pytest.mark.django_db
def test_it_tops_up_the_demo_company_to_n_patients_in_proportion(company, bulk_patients):
    assert Patient.objects.filter(company=company).count() == SCALE
    assert bulk_patients.count() == NEW
    per_patient = (
        bulk_patients.annotate(
            n_dx=Count("diagnoses", distinct=True), n_cov=Count("coverages", distinct=True)
        )
        .values_list("n_dx", "n_cov")
        .distinct()
    )
    assert {n_dx for n_dx, _ in per_patient} <= {1, 2}
    assert {n_cov for _, n_cov in per_patient} == {1}
    assert MedicalRecord.objects.filter(patient__in=bulk_patients).count() >= NEW
    assert Appointment.objects.filter(patient__in=bulk_patients).count() >= NEW // 2

    medicare = Coverage.objects.filter(patient__in=bulk_patients, payer__kind=PayerKind.MEDICARE)
    assert between(medicare.count() / NEW, 0.4, 0.8)
    for mbi in medicare.values_list("member_id", flat=True):
        validate_mbi(mbi)

    orders = Order.objects.filter(patient__in=bulk_patients)
    assert between(orders.count() / NEW, 1.1, 2.0)
    assert set(orders.values_list("status", flat=True)) == set(OrderStatus.values)
    lines = orders.annotate(n=Count("lines")).values_list("n", flat=True).distinct()
    assert set(lines) <= {1, 2, 3}
    rentals = Rental.objects.filter(patient__in=bulk_patients)
    assert {RentalStatus.ACTIVE, RentalStatus.RETURNED} <= set(
        rentals.values_list("status", flat=True)
    )

    claims = Claim.objects.filter(patient__in=bulk_patients)
    assert between(claims.count() / NEW, 2.0, 5.0)
    assert set(claims.values_list("status", flat=True)) == set(ClaimStatus.values)
    assert claims.exclude(rental=None).exists()
    assert claims.filter(rental=None).exists()
    assert claims.exclude(correction_note="").exists()  # denied, corrected, resubmitted
    paid = PaymentAllocation.objects.filter(claim__in=claims)
    assert paid.count() == claims.filter(status=ClaimStatus.PAID).count()
    assert set(Adjustment.objects.filter(allocation__in=paid).values_list("group", flat=True)) == {
        "CO",
        "PR",
    }


@pytest.mark.django_db
def test_it_keeps_every_invariant_the_services_keep(company, bulk_patients):
    run = run_checks(triggered_by="test")
    failing = {
        finding.check_name
        for finding in run.findings.all()
        if not finding.passed and finding.severity == Severity.ERROR
    }
    # The money checks compare to half a cent, so SQLite's float SUM() passes too.
    assert not failing, failing
    assert_money_is_exact(company)

    # Spelled out, the invariants the issue names.
    delivered = Order.objects.filter(patient__in=bulk_patients, status=OrderStatus.DELIVERED)
    assert delivered.exists()
    assert not delivered.exclude(deliveries__status="delivered", deliveries__items__isnull=False)
    active = Rental.objects.filter(status=RentalStatus.ACTIVE, asset__isnull=False)
    assert active.exists()
    for rental in active.select_related("asset"):
        assert rental.asset.status == "with_patient"
        assert rental.asset.patient_id == (rental.patient_id)


def assert_money_is_exact(company):
    """The money invariants, computed in Decimal (not by SQLite's float SUM)."""
    claims = Claim.objects.filter(company=company).prefetch_related(
        "lines", "allocations__adjustments"
    )
    for claim in claims:
        lines = list(claim.lines.all())
        allocations = list(claim.allocations.all())
        assert claim.total_charge == sum(line.charge for line in lines), claim.number
        assert claim.allowed_amount == sum(line.allowed_amount for line in lines), claim.number
        assert claim.paid_amount == sum(a.amount for a in allocations), claim.number
        assert claim.patient_responsibility == sum(
            adjustment.amount
            for allocation in allocations
            for adjustment in allocation.adjustments.all()
            if adjustment.group == "PR"
        ), claim.number
    for payment in Payment.objects.filter(company=company).prefetch_related("allocations"):
        allocated = sum((a.amount for a in payment.allocations.all()), Decimal("0.00"))
        assert payment.allocated_amount == allocated <= payment.amount, payment.number


@pytest.mark.django_db
def test_it_adds_nothing_for_the_same_n_and_tops_up_for_a_bigger_one(company):
    counts = {model: model.objects.count() for model in (Patient, Order, Claim, Payment)}
    out = io.StringIO()
    call_command("seed_demo", scale=SCALE, allow_production=True, stdout=out)
    assert {model: model.objects.count() for model in counts} == counts
    assert f"already has {SCALE} patients (at least {SCALE}); nothing added" in out.getvalue()

    call_command("seed_demo", scale=SCALE + 10, allow_production=True, stdout=io.StringIO())
    assert Patient.objects.filter(company=company).count() == SCALE + 10
    assert Order.objects.count() > counts[Order]
    assert Claim.objects.count() > counts[Claim]


@pytest.mark.django_db
def test_it_leaves_the_counters_past_the_numbers_so_the_services_carry_on(company, bulk_patients):
    highest = {}
    for model, counter in (
        (Patient, PatientNumberCounter),
        (Order, OrderNumberCounter),
        (Claim, ClaimNumberCounter),
    ):
        numbers = list(model.objects.filter(company=company).values_list("number", flat=True))
        assert len(numbers) == len(set(numbers)), model.__name__
        highest[model] = max(int(number[2:]) for number in numbers)
        assert counter.objects.get(pk=company.pk).last_number == highest[model]

    patient = clinical_services.register_patient(
        Patient(
            company=company,
            first_name="Carry",
            last_name="Onwards",
            dob=datetime.date(1951, 5, 6),
            sex=Sex.FEMALE,
            address_line1="1 Test St",
            city="Columbus",
            state="OH",
            postal_code="43215",
        )
    )
    assert patient.number == f"P-{highest[Patient] + 1:06d}"

    # An order through the services reserves real stock and units next to the bulk ones.
    scaled = bulk_patients.filter(status="active", primary_prescriber__isnull=False).first()
    cpap = Equipment.objects.get(company=company, hcpcs_code="E0601")
    order = dme_services.create_order(
        Order(
            company=company,
            patient=scaled,
            prescriber=scaled.primary_prescriber,
            location=Location.objects.get(company=company, kind=LocationKind.WAREHOUSE),
            written_order_date=timezone.localdate(),
            prescriber_signed_on=timezone.localdate(),
        ),
        [OrderLine(equipment=cpap, quantity=1, kind=LineKind.RENTAL, modifiers=["RR", "KX"])],
    )
    assert order.number == f"O-{highest[Order] + 1:06d}"
    dme_services.verify_order(order)
    dme_services.confirm_order(order)

    # Every claim line bills a delivered item or a rental month: bill again, through the
    # services, one the bulk part billed on a claim it then voided.
    voided = (
        ClaimLine.objects.filter(live=False, claim__patient__in=bulk_patients)
        .select_related("claim__patient", "claim__billing_location")
        .order_by("claim__number", "line_number")
        .first()
    )
    assert voided is not None
    billed = voided.claim.patient
    claim = hme_services.create_claim(
        company=company,
        patient=billed,
        coverage=Coverage.objects.get(patient=billed),
        billing_location=voided.claim.billing_location,
        diagnosis_codes=list(billed.diagnoses.values_list("code", flat=True)),
        lines=[
            {
                "date_of_service": voided.date_of_service,
                "hcpcs": voided.hcpcs,
                "modifiers": list(voided.modifiers or []),
                "description": voided.description,
                "units": voided.units,
                "charge": voided.charge,
                "diagnosis_pointers": [1],
                "order_line": voided.order_line,
                "rental_month": voided.rental_month,
            }
        ],
    )
    assert claim.number == f"C-{highest[Claim] + 1:06d}"


def raw_row(model, pk, columns):
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} "  # noqa: S608
            f"FROM {quote(model._meta.db_table)} WHERE id = %s",
            [pk.hex if connection.vendor == "sqlite" else pk],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


@pytest.mark.django_db
def test_it_stores_phi_as_ciphertext_with_working_blind_indexes(company, bulk_patients):
    patient = bulk_patients.order_by("-number").first()
    row = raw_row(Patient, patient.pk, ["dob", "phone", "email", "address_line1"])
    for column, value in row.items():
        assert value.startswith("gAAAA"), column
        assert decrypt_str(value) == str(getattr(patient, column))
    assert Patient.objects.filter_blind("dob", patient.dob).filter(pk=patient.pk).exists()
    assert Patient.objects.filter_blind("phone", patient.phone).filter(pk=patient.pk).exists()
    assert list(Patient.objects.filter_blind("email", patient.email.upper())) == [patient]
    assert patient in Patient.objects.filter(company=company).search(patient.dob.isoformat())

    coverage = Coverage.objects.get(patient=patient)
    assert list(Coverage.objects.filter_blind("member_id", coverage.member_id)) == [coverage]
    claim = Claim.objects.filter(patient=patient).first()
    if claim is not None:
        assert claim.coverage_id == coverage.pk
    delivery = Delivery.objects.filter(order__patient__in=bulk_patients).first()
    address = raw_row(Delivery, delivery.pk, ["address", "signer_name"])
    assert all(value.startswith("gAAAA") for value in address.values())

    # Bulk rows send no signals: no audit entries for them (the stock move is logged).
    patients = ContentType.objects.get_for_model(Patient)
    bulk_ids = [str(pk) for pk in bulk_patients.values_list("pk", flat=True)]
    assert not AuditEntry.objects.filter(content_type=patients, object_pk__in=bulk_ids).exists()


@pytest.mark.django_db
def test_it_ends_with_a_one_line_summary(scaled):
    last = scaled.strip().splitlines()[-1]
    assert re.match(
        rf"Scale: Aries Demo Medical Supply has {SCALE} patients; added [\d,]+ rows in "
        r"(?:\d+ min )?[\d.]+ s: "
        r".*[\d,]+ patients, .*[\d,]+ orders, .*[\d,]+ claims, .*[\d,]+ payments",
        last,
    ), last


@pytest.mark.django_db
def test_it_refuses_a_negative_scale():
    with pytest.raises(CommandError, match="0 or more"):
        call_command("seed_demo", "--scale", "-5", allow_production=True)


def test_bulk_mbis_are_valid_and_distinct():
    mbis = [scale_mbi(n) for n in range(1, 20_001)]
    for mbi in mbis[:2000]:
        validate_mbi(mbi)
    assert len(set(mbis)) == len(mbis)


@pytest.mark.django_db
def test_bulk_prescribers_have_valid_unique_npis(company):
    from clinical.models import Provider

    npis = list(Provider.objects.filter(company=company).values_list("npi", flat=True))
    assert len(npis) == len(set(npis))
    for npi in npis:
        validate_npi(npi)
    assert Diagnosis.objects.filter(company=company).exists()
    assert Rental.objects.filter(company=company).aggregate(n=Sum("months_billed"))["n"] == (
        Claim.objects.filter(company=company).exclude(rental=None).count()
    )
