"""Billing part of the bulk demo data (``manage.py seed_demo --scale N``): coverage for
the patients the clinical part added, and the claims and payments of what DME delivered
to them, as the services would have made them month after month.

- one primary coverage per patient: Medicare (a valid, invented MBI, unique per
  patient) from 65, else Ohio Medicaid or a commercial plan; about 60% Medicare;
- one claim per delivered order with purchases, and one per rental month whose date
  of service has come (until the pickup, and up to the cap: the rental is then capped),
  priced by the same rules as ``hme.services.billing``; rentals' months billed agree;
- each claim in a status that fits its age (recent ones pending or processing, older
  ones mostly paid, some approved, denied, resubmitted or void), with lines summing
  exactly to the totals and allowed amounts on the lines;
- paid claims are paid by remittances of up to 40 claims per payer, with a PR
  adjustment (coinsurance or copay: the patient's part) and CO-45 for the contractual
  write-off, so payments + patient responsibility = allowed, and allocations never
  exceed the payment (some payments keep an unallocated remainder).
"""

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from accounts.choices import Role
from clinical.demo_scale import scaled_diagnoses, scaled_patients
from core.exceptions import ServiceError
from core.seeding import Batch, each_batch, insert, money, row, update_rows, weighted
from core.validators import normalize_hcpcs
from dme.choices import BillingKind, LineKind, OrderStatus, RentalStatus
from dme.models import Order, OrderLine, Rental, RentalMonth

from .choices import (
    AdjustmentGroup,
    ClaimStatus,
    CoveragePriority,
    PayerKind,
    PaymentMethod,
    describe_carc,
)
from .demo import MBI_LETTERS
from .models import (
    Adjustment,
    Claim,
    ClaimLine,
    ClaimNumberCounter,
    Coverage,
    Payer,
    Payment,
    PaymentAllocation,
    SupplierCharge,
)
from .models.claims import MAX_DIAGNOSES, MAX_POINTERS, ZERO, format_claim_number
from .rules import month_date_of_service
from .services.billing import rental_month_charge

MEDICARE_AGE = 65
# Under 65: Ohio Medicaid or a commercial plan.
YOUNGER_PAYERS = [(PayerKind.MEDICAID, 35), (PayerKind.COMMERCIAL, 65)]
# Claim outcomes by the age (days) of the date of service. "sent": pending and
# submitted; "resubmitted": denied, corrected and sent again (pending).
SENT, RESUBMITTED = "sent", "resubmitted"
OUTCOMES = [
    (10, [(ClaimStatus.PENDING, 50), (SENT, 30), (ClaimStatus.PROCESSING, 20)]),
    (
        45,
        [
            (SENT, 5),
            (ClaimStatus.PROCESSING, 25),
            (ClaimStatus.APPROVED, 15),
            (ClaimStatus.PAID, 40),
            (ClaimStatus.DENIED, 12),
            (RESUBMITTED, 3),
        ],
    ),
    (
        None,
        [
            (ClaimStatus.PAID, 78),
            (ClaimStatus.APPROVED, 4),
            (ClaimStatus.DENIED, 8),
            (ClaimStatus.VOID, 4),
            (RESUBMITTED, 3),
            (ClaimStatus.PROCESSING, 3),
        ],
    ),
]
DENIALS = [
    (("CO", "16"), 35),
    (("CO", "50"), 25),
    (("CO", "18"), 15),
    (("CO", "108"), 10),
    (("CO", "197"), 10),
    (("CO", "29"), 5),
]
# Allowed amount as a share of the charge, by payer kind (a fee schedule's effect).
ALLOWED_SHARE = {PayerKind.MEDICARE: Decimal("0.85"), PayerKind.MEDICAID: Decimal("0.70")}
COMMERCIAL_ALLOWED_SHARE = Decimal("0.80")
MEDICARE_COINSURANCE = Decimal("0.20")
COPAY = Decimal("25.00")
CLAIMS_PER_PAYMENT = 40

# MBI positions (CMS): 1 a digit 1-9; 2, 5, 8, 9 a letter; 3, 6 a letter or digit;
# 4, 7, 10, 11 a digit. A mixed-radix number over those positions gives every
# integer below their product its own MBI.
_ALNUM = MBI_LETTERS + "0123456789"
_MBI_POSITIONS = [
    "123456789",
    MBI_LETTERS,
    _ALNUM,
    "0123456789",
    MBI_LETTERS,
    _ALNUM,
    "0123456789",
    MBI_LETTERS,
    MBI_LETTERS,
    "0123456789",
    "0123456789",
]
_MBI_SPACE = 1
for _position in _MBI_POSITIONS:
    _MBI_SPACE *= len(_position)
# Prime to the space (its factors are 2, 3 and 5): n -> n * k mod space is one-to-one,
# and consecutive patients get unrelated-looking MBIs.
_MBI_MULTIPLIER = 7919 * 104729 * 1299709


def scale_mbi(n):
    """A valid, invented MBI for bulk patient number ``n``; different ``n``, different
    MBI."""
    value = (n * _MBI_MULTIPLIER) % _MBI_SPACE
    chars = []
    for position in reversed(_MBI_POSITIONS):
        value, digit = divmod(value, len(position))
        chars.append(position[digit])
    return "".join(reversed(chars))


def seed_scale(context, plan):
    if not plan.count:
        return
    company = context.company
    payers = list(Payer.objects.filter(company=company, is_active=True).order_by("name"))
    by_kind = {}
    for payer in payers:
        by_kind.setdefault(payer.kind, []).append(payer)
    if PayerKind.MEDICARE not in by_kind:
        raise ServiceError("The demo company has no Medicare payer: run seed_demo first.")
    today = timezone.localdate()
    state = SimpleNamespace(
        rng=plan.rng("hme"),
        today=today,
        now=timezone.now(),
        by_kind=by_kind,
        biller=context.users.get(Role.BILLING),
        effective=datetime.date(today.year - 3, 1, 1),
        charges={},  # _month_charge
    )
    ClaimNumberCounter.objects.get_or_create(pk=company.pk)
    counter = ClaimNumberCounter.objects.select_for_update().get(pk=company.pk)
    state.next_number = counter.last_number + 1
    with _charge_list_read_once(company):
        for batch in each_batch(context, "hme", plan, _inputs(context, plan)):
            _seed_batch(context, state, batch)
    counter.last_number = state.next_number - 1
    counter.save(update_fields=["last_number"])


@contextmanager
def _charge_list_read_once(company) -> Iterator[None]:
    """Price every rental month from the company's charge list read once.

    ``rental_month_charge`` (the one pricing rule, hme.services.billing) looks the
    supplier's charge up with one query per month: 3,874 queries and a third of the
    whole run for 2,000 patients (cProfile, 2026-12-01). The charge list does not
    change during the run (one transaction), so for its length the billing module's
    ``supplier_charge`` answers this company's lookups from a dict; any other company
    still goes to the database."""
    from .services import billing, fees

    charges = {
        (hcpcs, band): charge
        for hcpcs, band, charge in SupplierCharge.objects.filter(company=company).values_list(
            "hcpcs", "band", "charge"
        )
    }
    # The billing module's own binding of fees.supplier_charge (not part of its API).
    original = getattr(billing, "supplier_charge")  # noqa: B009

    def cached(company_id, hcpcs, band):
        if company_id != company.pk:
            return fees.supplier_charge(company_id, hcpcs, band)
        return charges.get((normalize_hcpcs(hcpcs), band))

    setattr(billing, "supplier_charge", cached)  # noqa: B010
    try:
        yield
    finally:
        setattr(billing, "supplier_charge", original)  # noqa: B010


def _inputs(context, plan):
    """Each batch's patients, with their diagnoses, delivered orders, purchase lines
    and rentals: what clinical and DME wrote, read before the last batch's writes are
    made (``core.seeding.each_batch``)."""
    for patients in scaled_patients(context, plan, "dob"):
        ids = [patient["id"] for patient in patients]
        orders = Order.objects.filter(patient_id__in=ids, status=OrderStatus.DELIVERED).only(
            "id",
            "number",
            "company_id",
            "patient_id",
            "prescriber_id",
            "location_id",
            "delivered_on",
        )
        purchases = {}
        for line in (
            OrderLine.objects.filter(
                order__in=orders, kind=LineKind.PURCHASE, delivered_quantity__gt=0
            )
            .select_related("equipment")
            .order_by("order_id", "created_at", "id")
        ):
            purchases.setdefault(line.order_id, []).append(line)
        rentals = (
            Rental.objects.filter(patient_id__in=ids)
            .select_related("equipment", "order_line", "order")
            .order_by("start_date", "id")
        )
        yield Batch(
            patients=patients,
            codes=scaled_diagnoses(ids),
            orders=list(orders.order_by("number")),
            purchases=purchases,
            rentals=list(rentals),
        )


def _seed_batch(context, state, batch):
    coverages = {patient["id"]: _coverage(context, state, patient) for patient in batch.patients}
    insert(context, Coverage, list(coverages.values()), "coverages")
    codes = batch.codes
    rows = SimpleNamespace(claims=[], lines=[], paid=[], rentals=[], months=[])
    for order in batch.orders:
        lines = batch.purchases.get(order.pk)
        if lines and codes.get(order.patient_id):
            claim = _claim(context, state, rows, order, coverages[order.patient_id], codes)
            for line in lines:
                _line(
                    rows,
                    claim,
                    codes,
                    date_of_service=order.delivered_on,
                    hcpcs=line.equipment.hcpcs_code,
                    modifiers=list(line.modifiers or []),
                    description=line.equipment.name[:200],
                    units=line.delivered_quantity,
                    charge=line.unit_price * line.delivered_quantity,
                    order_line=line,
                )
    for rental in batch.rentals:
        if codes.get(rental.patient_id):
            _bill_months(context, state, rows, rental, coverages[rental.patient_id], codes)
        rental.next_bill_date = _next_bill_date(rental)
        rows.rentals.append(rental)
    for claim, claim_lines in rows.claims:
        _adjudicate(state, rows, claim, claim_lines)
    payments, allocations, adjustments = _pay(context, state, rows.paid)
    insert(context, RentalMonth, rows.months, "rental months")
    insert(context, Claim, [claim for claim, _ in rows.claims], "claims")
    insert(context, ClaimLine, rows.lines, "claim lines")
    insert(context, Payment, payments, "payments")
    insert(context, PaymentAllocation, allocations, "payment allocations")
    insert(context, Adjustment, adjustments, "adjustments")
    update_rows(
        Rental,
        rows.rentals,
        ["months_billed", "status", "capped_on", "next_bill_date"],
        pipeline=context.copies,
    )


def _coverage(context, state, patient):
    rng = state.rng
    age = (state.today - patient["dob"]).days // 365
    kind = PayerKind.MEDICARE if age >= MEDICARE_AGE else weighted(rng, YOUNGER_PAYERS)
    payer = rng.choice(state.by_kind.get(kind) or state.by_kind[PayerKind.MEDICARE])
    number = int(patient["number"][2:])
    if payer.kind == PayerKind.MEDICARE:
        member_id, group = scale_mbi(number), ""
    elif payer.kind == PayerKind.MEDICAID:
        member_id, group = f"{rng.randint(10**9, 10**10 - 1)}OH", ""
    else:
        member_id = f"W{rng.randint(10**8, 10**9 - 1)}"
        group = f"GRP-{rng.randint(100, 999)}"
    verified = rng.random() < 0.8
    return row(
        Coverage,
        company=context.company,
        patient_id=patient["id"],
        payer=payer,
        member_id=member_id,
        group_number=group,
        priority=CoveragePriority.PRIMARY,
        effective_date=state.effective,
        # In force today (save() derives it; bulk_create does not call save()).
        is_active=True,
        verified_at=state.now - datetime.timedelta(days=rng.randint(1, 300)) if verified else None,
        verified_by=state.biller if verified else None,
    )


def _claim(context, state, rows, order, coverage, codes, **links):
    claim = row(
        Claim,
        company=context.company,
        number=format_claim_number(state.next_number),
        patient_id=order.patient_id,
        coverage=coverage,
        payer=coverage.payer,
        billing_location_id=order.location_id,
        referring_provider_id=order.prescriber_id,
        order=order,
        diagnosis_codes=codes[order.patient_id][:MAX_DIAGNOSES],
        **links,
    )
    state.next_number += 1
    rows.claims.append((claim, []))
    return claim


def _line(rows, claim, codes, **fields):
    claim_lines = rows.claims[-1][1]
    pointers = list(range(1, min(MAX_POINTERS, len(claim.diagnosis_codes)) + 1))
    line = row(
        ClaimLine,
        company_id=claim.company_id,
        claim=claim,
        line_number=len(claim_lines) + 1,
        diagnosis_pointers=pointers,
        **fields,
    )
    claim_lines.append(line)
    rows.lines.append(line)


def _bill_months(context, state, rows, rental, coverage, codes):
    """Every month whose date of service has come (and, for a returned rental, before
    the pickup), up to the cap; the rental's count and capping follow."""
    last_day = min(state.today, rental.end_date or state.today)
    number = 0
    while rental.cap_months is None or number < rental.cap_months:
        day = month_date_of_service(rental.start_date, number + 1)
        if day > last_day:
            break
        number += 1
        modifiers, charge = _month_charge(state, rental, number)
        month = row(
            RentalMonth,
            company_id=rental.company_id,
            rental=rental,
            sequence=number,
            period=1,
            number=number,
            date_of_service=day,
            paid=True,
        )
        rows.months.append(month)
        _claim(
            context,
            state,
            rows,
            rental.order,
            coverage,
            codes,
            rental=rental,
            rental_month=number,
        )
        _line(
            rows,
            rows.claims[-1][0],
            codes,
            date_of_service=day,
            hcpcs=rental.equipment.hcpcs_code,
            modifiers=modifiers,
            description=f"{rental.equipment.name[:180]}, rental month {number}",
            units=rental.quantity,
            charge=charge,
            rental_month=month,
        )
    if not number:
        return
    rental.months_billed = number
    if rental.status == RentalStatus.ACTIVE and number == rental.cap_months:
        rental.status = RentalStatus.CAPPED
        rental.capped_on = month_date_of_service(rental.start_date, number)


def _month_charge(state, rental, number):
    """``rental_month_charge`` (the one pricing rule), asked once per kind of month.

    Besides the month number, the price depends on the item, the order line's
    modifiers and kind, the quantity, the fee and the company, and on what the
    modifier hooks know of the rental: adherence's looks up the rental's adherence
    status (KX from month 4 only when met), one query per month (a quarter of the run
    at 10,000 patients). Every rental this run bills is new and has none yet (the
    adherence part comes after billing), so the hooks answer alike for all of them:
    one call per distinct key, the rest from the dict."""
    line = rental.order_line
    key = (
        rental.equipment_id,
        tuple(line.modifiers or ()),
        line.kind,
        number,
        rental.quantity,
        rental.monthly_fee,
        rental.company_id,
    )
    charge = state.charges.get(key)
    if charge is None:
        charge = state.charges[key] = rental_month_charge(rental, number)
    modifiers, amount = charge
    return list(modifiers), amount


def _next_bill_date(rental):
    """The next month due, as ``dme.services`` keeps it (None: no more months)."""
    oxygen = rental.equipment.billing_kind == BillingKind.OXYGEN_RENTAL
    if rental.status == RentalStatus.RETURNED or (
        rental.status == RentalStatus.CAPPED and not oxygen
    ):
        return None
    day = month_date_of_service(rental.start_date, rental.months_billed + 1)
    if rental.end_date is not None and day > rental.end_date:
        return None
    return day


def _at(day, hour, now):
    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
    return min(moment, now)


def _adjudicate(state, rows, claim, lines):
    """Totals from the lines, then the status its age calls for, with what it implies."""
    rng, now = state.rng, state.now
    claim.total_charge = sum((line.charge for line in lines), ZERO)
    first_day = min(line.date_of_service for line in lines)
    age = (state.today - first_day).days
    outcome = weighted(rng, next(o for limit, o in OUTCOMES if limit is None or age <= limit))
    if outcome == ClaimStatus.PENDING:
        return
    if outcome == ClaimStatus.VOID:
        claim.status = ClaimStatus.VOID
        claim.voided_at = _at(first_day + datetime.timedelta(days=rng.randint(2, 30)), 15, now)
        claim.void_reason = "Billed to the wrong coverage."
        for line in lines:
            line.live = False
        return
    submitted = first_day + datetime.timedelta(days=rng.randint(1, 4))
    claim.submitted_at = _at(submitted, 9, now)
    claim.submission_count = 1
    if outcome == SENT:
        return
    if outcome == RESUBMITTED:
        claim.submitted_at = _at(submitted + datetime.timedelta(days=rng.randint(20, 40)), 9, now)
        claim.submission_count = 2
        claim.correction_note = "Added the prescriber's NPI and the KX modifier."
        return
    claim.acknowledged_at = _at(submitted + datetime.timedelta(days=1), 9, now)
    claim.status = ClaimStatus.PROCESSING
    if outcome == ClaimStatus.PROCESSING:
        return
    claim.adjudicated_at = _at(submitted + datetime.timedelta(days=rng.randint(7, 20)), 14, now)
    if outcome == ClaimStatus.DENIED:
        group, code = weighted(rng, DENIALS)
        claim.status = ClaimStatus.DENIED
        claim.denial_group, claim.denial_code = group, code
        claim.denial_reason = describe_carc(group, code)
        return
    share = ALLOWED_SHARE.get(claim.payer.kind, COMMERCIAL_ALLOWED_SHARE)
    for line in lines:
        line.allowed_amount = money(line.charge * share)
    claim.allowed_amount = sum((line.allowed_amount for line in lines), ZERO)
    claim.status = ClaimStatus.APPROVED
    if outcome == ClaimStatus.PAID:
        rows.paid.append(claim)


def _pay(context, state, claims):
    """Remittances of up to 40 claims per payer (in order of adjudication): the
    payments, allocations and adjustments to insert; the claims become paid."""
    rng, now = state.rng, state.now
    by_payer = {}
    for claim in sorted(claims, key=lambda c: (c.adjudicated_at, c.number)):
        by_payer.setdefault(claim.payer_id, []).append(claim)
    payments, allocations, adjustments = [], [], []
    for payer_claims in by_payer.values():
        for start in range(0, len(payer_claims), CLAIMS_PER_PAYMENT):
            chunk = payer_claims[start : start + CLAIMS_PER_PAYMENT]
            latest = max(claim.adjudicated_at for claim in chunk)
            paid_date = min(
                timezone.localdate(latest) + datetime.timedelta(days=rng.randint(3, 10)),
                state.today,
            )
            paid_at = max(_at(paid_date, 12, now), latest)
            check = rng.random() < 0.1
            payment = row(
                Payment,
                company=context.company,
                payer_id=chunk[0].payer_id,
                method=PaymentMethod.CHECK if check else PaymentMethod.EFT,
                number=f"{'CHK' if check else 'EFT'}{chunk[0].number[2:]}",
                paid_date=paid_date,
                amount=ZERO,
            )
            for claim in chunk:
                patient_part = _patient_part(claim)
                paid = claim.allowed_amount - patient_part
                allocation = row(
                    PaymentAllocation,
                    company=context.company,
                    payment=payment,
                    claim=claim,
                    amount=paid,
                )
                allocations.append(allocation)
                if patient_part:
                    code = "2" if claim.payer.kind == PayerKind.MEDICARE else "3"
                    adjustments.append(
                        row(
                            Adjustment,
                            company=context.company,
                            allocation=allocation,
                            group=AdjustmentGroup.PR,
                            code=code,
                            amount=patient_part,
                        )
                    )
                if claim.total_charge > claim.allowed_amount:
                    adjustments.append(
                        row(
                            Adjustment,
                            company=context.company,
                            allocation=allocation,
                            group=AdjustmentGroup.CO,
                            code="45",
                            amount=claim.total_charge - claim.allowed_amount,
                        )
                    )
                claim.paid_amount = paid
                claim.patient_responsibility = patient_part
                claim.status = ClaimStatus.PAID
                claim.paid_at = paid_at
                payment.allocated_amount += paid
            # Some remittances also cover claims not posted yet: money left to allocate.
            extra = money(rng.randint(10, 500)) if rng.random() < 0.1 else ZERO
            payment.amount = payment.allocated_amount + extra
            payments.append(payment)
    return payments, allocations, adjustments


def _patient_part(claim):
    """Medicare: 20% coinsurance (PR-2); Medicaid: nothing; commercial: a copay (PR-3)."""
    kind = claim.payer.kind
    if kind == PayerKind.MEDICARE:
        return money(claim.allowed_amount * MEDICARE_COINSURANCE)
    if kind == PayerKind.MEDICAID:
        return ZERO
    return min(COPAY, money(claim.allowed_amount / 2))
