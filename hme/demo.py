"""Billing demo data: payers, the demo patients' coverage, prior authorizations,
claims in every status, payments with adjustments, and a rental billing run.

Runs after the clinical and DME demos (INSTALLED_APPS order): it bills what DME
delivered, through the services, so claims, authorizations and rentals agree as they
would in production. MBIs are well formed (CMS format) and invented; member IDs and
payer names are for show. Payers, coverages and authorizations are looked up before
they are created; claims and payments are made only for a company that has no claim
yet, and the rental run bills each month once: running it again creates nothing twice.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from accounts.choices import Role
from clinical.demo import demo_patients
from clinical.models import Provider
from core.exceptions import ServiceError
from dme.choices import (
    BillingKind,
    DeliveryMethod,
    DeliveryStatus,
    EquipmentCategory,
    LineKind,
    OrderStatus,
    RentalStatus,
)
from dme.models import Delivery, DeliveryItem, Equipment, Order, OrderLine, Rental

from . import services
from .choices import AuthorizationStatus, ClaimStatus, CoveragePriority, PayerKind
from .models import Authorization, Claim, Coverage, Payer

CENT = Decimal("0.01")
# name, payer ID, kind, timely filing days, city, state, phone
PAYERS = [
    ("Medicare DME MAC Jurisdiction B", "17003", PayerKind.MEDICARE, 365, "Indianapolis", "IN",
     "(866) 590-6727"),
    ("Ohio Medicaid", "OHMCD", PayerKind.MEDICAID, 365, "Columbus", "OH", "(800) 324-8680"),
    ("Aetna", "60054", PayerKind.COMMERCIAL, 180, "Hartford", "CT", "(888) 632-3862"),
    ("UnitedHealthcare", "87726", PayerKind.COMMERCIAL, 90, "Minneapolis", "MN",
     "(877) 842-3210"),
]  # fmt: skip
MEDICARE_BORN_BEFORE = datetime.date(1961, 1, 1)
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # no S, L, O, I, B, Z

# The order in which new claims are walked through the workflow (cycled): every
# status appears, and most claims end paid as in a real month.
TARGETS = [
    ClaimStatus.PAID,
    ClaimStatus.APPROVED,
    ClaimStatus.PAID,
    ClaimStatus.PROCESSING,
    ClaimStatus.DENIED,
    "submitted",
    ClaimStatus.PAID,
    "resubmitted",
    ClaimStatus.VOID,
    ClaimStatus.PENDING,
]


def demo_mbi(n):
    """A valid, invented MBI for demo patient ``n`` (positions per CMS)."""
    letter = MBI_LETTERS.__getitem__
    return (
        f"{1 + n % 9}{letter(n % 20)}{letter((n * 7) % 20)}{n % 10}{letter((n * 3) % 20)}"
        f"{(n * 5) % 10}{(n * 7) % 10}{letter((n * 11) % 20)}{letter((n * 13) % 20)}"
        f"{(n * 17) % 100:02d}"
    )


def _count(context, label, number):
    if number:
        context.count(label, number)


def seed(context):
    payers = seed_payers(context)
    seed_coverage(context, payers)
    seed_authorizations(context)
    if Claim.objects.filter(company=context.company).exists():
        # Claims exist: only new rental months (none twice).
        _count(context, "rental claims", bill_demo_rentals(context))
        return
    claims = seed_claims(context)
    seed_workflow(context, claims)
    seed_commercial_claim(context)


def bill_demo_rentals(context):
    """Bill the new months of the demo's own rentals, through the service, and return
    how many. Not ``bill_rental_months()``: that walks every active rental (a row lock
    and a commit each, about 4 ms), minutes once ``seed_demo --scale`` has added tens
    of thousands; theirs are billed by the daily task like any others."""
    today = timezone.localdate()
    rentals = Rental.objects.filter(
        patient__in=demo_patients(context.company), status=RentalStatus.ACTIVE
    ).select_related("order")
    billed = 0
    for rental in rentals.order_by("start_date", "id"):
        try:
            while services.bill_next_rental_month(rental, today) is not None:
                billed += 1
        except ServiceError as error:
            context.stdout.write(f"  rental of {rental.order.number} not billed: {error.message}")
    return billed


def seed_payers(context):
    payers, created = {}, 0
    for name, payer_id, kind, days, city, state, phone in PAYERS:
        payer, was_created = Payer.objects.get_or_create(
            company=context.company,
            name=name,
            defaults={
                "payer_id": payer_id,
                "kind": kind,
                "timely_filing_days": days,
                "city": city,
                "state": state,
                "phone": phone,
            },
        )
        payers[kind if kind != PayerKind.COMMERCIAL else name] = payer
        created += was_created
    _count(context, "payers", created)
    return payers


def seed_coverage(context, payers):
    """Patients of 65 or more: Medicare primary (every third also Medicaid secondary);
    younger ones: Aetna or UnitedHealthcare. The demo's own patients only (the bulk
    ones of ``seed_demo --scale`` have theirs)."""
    patients = demo_patients(context.company)
    created = 0
    for index, patient in enumerate(patients):
        policies = []
        if patient.dob < MEDICARE_BORN_BEFORE:
            policies.append((payers[PayerKind.MEDICARE], CoveragePriority.PRIMARY, demo_mbi(index)))
            if index % 3 == 1:
                policies.append(
                    (payers[PayerKind.MEDICAID], CoveragePriority.SECONDARY, f"1{index:07d}OH")
                )
        else:
            commercial = payers["Aetna" if index % 2 else "UnitedHealthcare"]
            policies.append((commercial, CoveragePriority.PRIMARY, f"W{index:03d}7741{index:02d}"))
        for payer, priority, member_id in policies:
            if Coverage.objects.filter(patient=patient, payer=payer, priority=priority).exists():
                continue
            coverage = Coverage(
                company=context.company,
                patient=patient,
                payer=payer,
                priority=priority,
                member_id=member_id,
                group_number="" if payer.kind != PayerKind.COMMERCIAL else f"GRP-{400 + index}",
                effective_date=datetime.date(2024, 1, 1),
            )
            coverage.full_clean()
            coverage.save()
            if index % 4 != 3:
                services.verify_coverage(coverage, context.users.get(Role.BILLING))
            created += 1
    _count(context, "coverages", created)


# (patient index, HCPCS codes, status to reach, days from today valid from, units)
AUTHORIZATIONS = [
    (2, ["K0823"], AuthorizationStatus.APPROVED, -10, 1),
    (4, ["E0277"], AuthorizationStatus.REQUESTED, 0, 1),
    (9, ["K0856"], AuthorizationStatus.DENIED, -20, 1),
    (11, ["L1833"], AuthorizationStatus.EXPIRED, -200, 1),
]


def seed_authorizations(context):
    patients = demo_patients(context.company)
    today = timezone.localdate()
    created = 0
    for index, codes, target, offset, units in AUTHORIZATIONS:
        if index >= len(patients):
            continue
        coverage = (
            Coverage.objects.filter(patient=patients[index], priority=CoveragePriority.PRIMARY)
            .order_by("-effective_date")
            .first()
        )
        if coverage is None or Authorization.objects.filter(coverage=coverage).exists():
            continue
        authorization = Authorization(
            company=context.company,
            coverage=coverage,
            hcpcs_codes=codes,
            notes="Demo: face-to-face note and written order faxed to the payer.",
        )
        authorization.full_clean()
        authorization.save()
        created += 1
        number = f"UTN{index:04d}{codes[0]}"
        start = today + datetime.timedelta(days=offset)
        if target == AuthorizationStatus.DENIED:
            services.deny_authorization(authorization, note="Demo: mobility exam incomplete.")
        elif target in (AuthorizationStatus.APPROVED, AuthorizationStatus.EXPIRED):
            valid_to = start + datetime.timedelta(days=59) if target == "expired" else None
            services.approve_authorization(
                authorization,
                number=number,
                units_approved=units,
                valid_from=start,
                valid_to=valid_to,
            )
    services.expire_authorizations()
    _count(context, "authorizations", created)


def seed_claims(context):
    """Bill what DME delivered: purchases (one claim per order) and rental months."""
    claims = []
    for order in Order.objects.filter(company=context.company, status="delivered").order_by(
        "number"
    ):
        if not order.lines.filter(kind="purchase", delivered_quantity__gt=0).exists():
            continue
        claims.append(services.create_claim_for_delivery(order))
    claims.extend(services.bill_rental_months().claims)
    late = seed_late_claim(context)
    _count(context, "claims", len(claims) + len(late))
    return sorted(claims, key=lambda claim: claim.number)


def _delivered_for(context, patient, day, lines):
    """A delivered order of ``patient`` holding one purchase line per claim line (its
    catalogue item by HCPCS code, made when missing), so every demo claim line bills a
    delivered order line; returns (order, lines with their ``order_line``)."""
    order = Order(
        company=context.company,
        patient=patient,
        prescriber=patient.primary_prescriber
        or Provider.objects.filter(company=context.company).order_by("npi").first(),
        location=context.locations[0],
        written_order_date=day - datetime.timedelta(days=3),
        prescriber_signed_on=day - datetime.timedelta(days=3),
        status=OrderStatus.DELIVERED,
        delivered_on=day,
    )
    order.save()
    delivery = Delivery(
        company=context.company,
        order=order,
        status=DeliveryStatus.DELIVERED,
        method=DeliveryMethod.SHIPPED,
        scheduled_date=day,
        address="Demo: shipped to the patient's address on file.",
        carrier="UPS",
        tracking_number=f"1ZDEMO{day:%Y%m%d}",
        patient_name=f"{patient.first_name} {patient.last_name}",
        delivered_on=day,
    )
    delivery.save()
    billed = []
    for line in lines:
        kind = BillingKind.SUPPLY if line["hcpcs"].startswith("A") else BillingKind.PURCHASE
        equipment = Equipment.objects.filter(
            company=context.company, hcpcs_code=line["hcpcs"]
        ).first() or Equipment.objects.create(
            company=context.company,
            name=line["description"],
            hcpcs_code=line["hcpcs"],
            category=EquipmentCategory.OTHER,
            manufacturer="Demo",
            model_number=f"DEMO-{line['hcpcs']}",
            billing_kind=kind,
            purchase_price=line["charge"],
        )
        order_line = OrderLine(
            company=context.company,
            order=order,
            equipment=equipment,
            quantity=line["units"],
            kind=LineKind.PURCHASE,
            modifiers=list(line["modifiers"]),
            unit_price=line["charge"] / line["units"],
            delivered_quantity=line["units"],
        )
        order_line.save()
        DeliveryItem.objects.create(
            company=context.company,
            delivery=delivery,
            order_line=order_line,
            description=equipment.item_description,
            quantity=line["units"],
        )
        billed.append({**line, "order_line": order_line})
    return order, billed


def seed_late_claim(context):
    """A walker delivered 380 days ago and never billed: submitted past Medicare's
    limit with a Billing override (retroactive eligibility)."""
    coverage = (
        Coverage.objects.filter(
            company=context.company,
            payer__kind=PayerKind.MEDICARE,
            priority=CoveragePriority.PRIMARY,
        )
        .select_related("patient")
        .order_by("patient__number")
        .last()
    )
    if coverage is None:
        return []
    codes = list(coverage.patient.diagnoses.active().values_list("code", flat=True)[:1])
    if not codes:
        return []
    day = timezone.localdate() - datetime.timedelta(days=380)
    order, lines = _delivered_for(
        context,
        coverage.patient,
        day,
        [
            {
                "date_of_service": day,
                "hcpcs": "E0143",
                "modifiers": ["NU"],
                "description": "Folding walker with wheels",
                "units": 1,
                "charge": Decimal("72.00"),
                "diagnosis_pointers": [1],
            }
        ],
    )
    claim = services.create_claim(
        company=context.company,
        patient=coverage.patient,
        coverage=coverage,
        billing_location=context.locations[0],
        referring_provider=coverage.patient.primary_prescriber,
        diagnosis_codes=codes,
        lines=lines,
        order=order,
    )
    services.submit_claim(
        claim,
        context.users.get(Role.BILLING),
        override_reason="Demo: Medicare eligibility granted retroactively; letter on file.",
    )
    # Left pending (sent): not walked through the cycle.
    return [claim]


def seed_workflow(context, claims):
    """Walk the claims to their demo status through the services; pay the paid ones
    with one remittance per payer (CO-45 contractual, PR-2 coinsurance)."""
    biller = context.users.get(Role.BILLING)
    to_pay = {}
    for index, claim in enumerate(claims):
        target = TARGETS[index % len(TARGETS)]
        try:
            claim = _walk(claim, target, biller)
        except ServiceError as error:
            # Demo data must load whatever the dates: leave the claim where it stopped.
            context.stdout.write(f"  {claim.number} stays {claim.status}: {error.message}")
            continue
        if claim is not None and target == ClaimStatus.PAID:
            to_pay.setdefault(claim.payer_id, []).append(claim)
    _pay(context, to_pay)


def _walk(claim, target, biller):
    """Move ``claim`` to the demo ``target``; return it when approved."""
    if target == ClaimStatus.PENDING:
        return None
    if target == ClaimStatus.VOID:
        services.void_claim(claim, "Demo: billed to the wrong coverage.")
        return None
    services.submit_claim(claim, biller)
    if target == "submitted":
        return None
    services.mark_processing(claim)
    if target == ClaimStatus.PROCESSING:
        return None
    if target in (ClaimStatus.DENIED, "resubmitted"):
        services.deny_claim(claim, "CO", "16" if target == "resubmitted" else "50")
        if target == "resubmitted":
            services.resubmit_claim(
                claim, "Demo: added the prescriber's NPI and the KX modifier.", biller
            )
        return None
    allowed = (claim.total_charge * Decimal("0.85")).quantize(CENT, rounding=ROUND_HALF_UP)
    if claim.expected_amount is not None:
        # The payer allows what its fee schedule (or our estimate of it) expects.
        allowed = min(claim.expected_amount, claim.total_charge)
    return services.approve_claim(claim, allowed=allowed)


def _pay(context, to_pay):
    payments = 0
    today = timezone.localdate()
    batches = [to_pay[payer_id] for payer_id in sorted(to_pay, key=str)]
    for number, paid_claims in enumerate(batches, start=1):
        allocations, total = [], Decimal("0.00")
        for claim in paid_claims:
            coinsurance = (claim.allowed_amount * Decimal("0.20")).quantize(CENT, ROUND_HALF_UP)
            paid = claim.allowed_amount - coinsurance
            adjustments = [{"group": "PR", "code": "2", "amount": coinsurance}]
            if claim.total_charge > claim.allowed_amount:
                contractual = claim.total_charge - claim.allowed_amount
                adjustments.append({"group": "CO", "code": "45", "amount": contractual})
            allocations.append({"claim": claim, "amount": paid, "adjustments": adjustments})
            total += paid
        services.record_payment(
            company=context.company,
            payer=paid_claims[0].payer,
            number=f"EFT{today:%Y%m%d}{number:03d}",
            paid_date=today,
            amount=total,
            allocations=allocations,
        )
        payments += 1
    _count(context, "payments", payments)


def seed_commercial_claim(context):
    """Resupply billed to a commercial payer and paid with a copay (PR-3) and a
    contractual write-off (CO-45), leaving part of the EFT unallocated."""
    coverage = (
        Coverage.objects.filter(
            company=context.company,
            payer__kind=PayerKind.COMMERCIAL,
            priority=CoveragePriority.PRIMARY,
            patient__diagnoses__is_active=True,
        )
        .select_related("patient", "payer")
        .order_by("patient__number")
        .first()
    )
    if coverage is None:
        return
    patient = coverage.patient
    code = patient.diagnoses.active().order_by("created_at").values_list("code", flat=True)[0]
    day = timezone.localdate() - datetime.timedelta(days=21)
    order, lines = _delivered_for(
        context,
        patient,
        day,
        [
            {
                "date_of_service": day,
                "hcpcs": hcpcs,
                "modifiers": [],
                "description": description,
                "units": 1,
                "charge": Decimal(charge),
                "diagnosis_pointers": [1],
            }
            for hcpcs, description, charge in (
                ("A7034", "AirFit N20 nasal mask", "110.00"),
                ("A7037", "Standard CPAP tubing", "32.00"),
            )
        ],
    )
    claim = services.create_claim(
        company=context.company,
        patient=patient,
        coverage=coverage,
        billing_location=context.locations[0],
        referring_provider=patient.primary_prescriber,
        diagnosis_codes=[code],
        lines=lines,
        order=order,
    )
    biller = context.users.get(Role.BILLING)
    services.submit_claim(claim, biller)
    services.mark_processing(claim)
    services.approve_claim(claim, allowed=Decimal("120.00"))
    services.record_payment(
        company=context.company,
        payer=coverage.payer,
        number=f"EFT{timezone.localdate():%Y%m%d}C01",
        paid_date=timezone.localdate(),
        amount=Decimal("250.00"),
        note="Demo: remittance also covers claims not yet posted.",
        allocations=[
            {
                "claim": claim,
                "amount": Decimal("95.00"),
                "adjustments": [
                    {"group": "PR", "code": "3", "amount": Decimal("25.00")},
                    {"group": "CO", "code": "45", "amount": Decimal("22.00")},
                ],
            }
        ],
    )
    _count(context, "claims", 1)
    _count(context, "payments", 1)
