"""The built-in readiness checks, one per rule family (sources in each docstring and in
docs/domain/hme-billing.md, "Ready to bill"). Each reads only what ``load_batch``
prefetched for the whole batch: no query per line."""

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError

from core.validators import format_icd10, validate_icd10, validate_mbi, validate_npi
from dme.choices import BillingKind, DeliveryMethod, LineKind

from ..rules import (
    CAPPED_RENTAL_MONTH_MODIFIERS,
    NEW_PURCHASE,
    RENTAL,
    USED_PURCHASE,
    requires_prior_auth,
)
from .base import Batch, Fix, Reason, error, register_check, warning
from .rules import (
    FREQUENCY_LIMITS,
    NOT_WITH_KX,
    PAP_SUPPLY_SOURCE,
    REASONABLE_USEFUL_LIFETIME,
    TIMELY_FILING_WARNING_DAYS,
    kx_policy,
    same_or_similar_class,
)

Found = Iterator[tuple[uuid.UUID, Reason]]

SWO = "42 CFR 410.38(d)(1) (standard written order elements)"
NPI = "45 CFR 162.406 and the CMS NPI standard (Luhn check digit over 80840 + 9 digits)"
ICD10 = "ICD-10-CM Official Guidelines I.B.2 (code to the highest specificity); HIPAA code set"
COVERAGE = "Medicare Claims Processing Manual ch. 1 (coverage on the date of service)"
MBI = "CMS MBI format specification (11 characters, no S L O I B Z)"
PRIOR_AUTH = "42 CFR 414.234 (DMEPOS prior authorization; Required Prior Authorization List)"
MODIFIERS = "CMS DMEPOS modifier rules: RR/NU/UE, KH/KI/KJ (42 CFR 414.229), KX with GA/GY/GZ"
POD = "Medicare Program Integrity Manual ch. 4 §4.26 and ch. 5 §5.8 (proof of delivery)"
TIMELY = "42 CFR 424.44 (claims filed within 12 months of the date of service)"
SAME_SIMILAR = "42 CFR 414.210(f) (5-year reasonable useful lifetime)"


def _order_fix(line: Any, field: str) -> Fix:
    return Fix("dme.order", line.order_id, field)


def _line_fix(line: Any, field: str) -> Fix:
    return Fix("dme.orderline", line.pk, field)


@register_check
def standard_written_order(batch: Batch) -> Found:
    """Every element of the SWO: patient, item, prescriber name and NPI, prescriber
    signature (its date). The order date and a quantity of at least 1 the database
    holds (NOT NULL, CHECK quantity > 0), so no line can lack them."""
    for line in batch.lines:
        order, prescriber = line.order, line.order.prescriber
        names = batch.extra["patients"].get(order.patient_id, {})
        if (
            not (names.get("first_name") or "").strip()
            or not (names.get("last_name") or "").strip()
        ):
            yield (
                line.pk,
                error(
                    "swo_patient",
                    f"The written order's patient ({names.get('number', '?')}) has no full name.",
                    Fix("clinical.patient", order.patient_id, "last_name"),
                    SWO,
                ),
            )
        if not line.equipment.hcpcs_code:
            yield (
                line.pk,
                error(
                    "swo_item",
                    "The item has no HCPCS code.",
                    Fix("dme.equipment", line.equipment_id, "hcpcs_code"),
                    SWO,
                ),
            )
        if not prescriber.first_name.strip() or not prescriber.last_name.strip():
            yield (
                line.pk,
                error(
                    "swo_prescriber_name",
                    f"The prescriber of order {order.number} has no full name.",
                    Fix("clinical.provider", prescriber.pk, "last_name"),
                    SWO,
                ),
            )
        if not prescriber.npi:
            yield (
                line.pk,
                error(
                    "npi_missing",
                    f"Prescriber {prescriber.full_name} has no NPI.",
                    Fix("clinical.provider", prescriber.pk, "npi"),
                    NPI,
                ),
            )
        else:
            try:
                validate_npi(prescriber.npi)
            except ValidationError as exc:
                yield (
                    line.pk,
                    error(
                        "npi_invalid",
                        f"Prescriber {prescriber.full_name}'s NPI is not valid: {exc.messages[0]}",
                        Fix("clinical.provider", prescriber.pk, "npi"),
                        NPI,
                    ),
                )
        if order.prescriber_signed_on is None:
            yield (
                line.pk,
                error(
                    "swo_signature",
                    f"Order {order.number} has no prescriber signature date.",
                    _order_fix(line, "prescriber_signed_on"),
                    SWO,
                ),
            )


@register_check
def diagnoses(batch: Batch) -> Found:
    """At least one active diagnosis; each a well-formed ICD-10-CM code that exists, is
    billable (a leaf code) and is in force on the date of service."""
    for line in batch.lines:
        patient_id = line.order.patient_id
        codes = batch.diagnoses.get(patient_id, [])
        number = batch.extra["patients"].get(patient_id, {}).get("number", "?")
        if not codes:
            yield (
                line.pk,
                error(
                    "no_diagnosis",
                    f"{number} has no active diagnosis: add the ICD-10-CM code that "
                    "justifies the item.",
                    Fix("clinical.patient", patient_id, "diagnoses"),
                    ICD10,
                ),
            )
            continue
        day = batch.dates.get(line.pk) or batch.on
        for diagnosis_id, code in codes:
            shown = format_icd10(code)
            fix = Fix("clinical.diagnosis", diagnosis_id, "code")
            try:
                validate_icd10(code)
            except ValidationError:
                yield (
                    line.pk,
                    error(
                        "icd10_format", f"Diagnosis {shown} is not an ICD-10-CM code.", fix, ICD10
                    ),
                )
                continue
            if not batch.icd10_loaded:
                yield (
                    line.pk,
                    warning(
                        "icd10_table_empty",
                        f"Diagnosis {shown} passed the format check only: the ICD-10-CM code "
                        "table is not loaded (manage.py load_icd10).",
                        None,
                        ICD10,
                    ),
                )
                continue
            row = batch.icd10.get(code)
            if row is None:
                yield (
                    line.pk,
                    error(
                        "icd10_unknown",
                        f"Diagnosis {shown} is not in the ICD-10-CM code set.",
                        fix,
                        ICD10,
                    ),
                )
            elif not row.in_force_on(day):
                yield (
                    line.pk,
                    error(
                        "icd10_not_in_force",
                        f"Diagnosis {shown} is not in force on {day.isoformat()}.",
                        fix,
                        ICD10,
                    ),
                )
            elif not row.billable:
                yield (
                    line.pk,
                    error(
                        "icd10_not_billable",
                        f"Diagnosis {shown} is a category, not billable: use a more specific code.",
                        fix,
                        ICD10,
                    ),
                )


@register_check
def coverage(batch: Batch) -> Found:
    """Primary coverage in force on the date of service; for Medicare a valid MBI."""
    for line in batch.lines:
        day = batch.dates.get(line.pk) or batch.on
        policy = batch.coverage(line)
        number = batch.extra["patients"].get(line.order.patient_id, {}).get("number", "?")
        if policy is None:
            yield (
                line.pk,
                error(
                    "no_coverage",
                    f"{number} has no primary coverage in force on {day.isoformat()}.",
                    Fix("clinical.patient", line.order.patient_id, "coverages"),
                    COVERAGE,
                ),
            )
            continue
        if policy.payer.kind == "medicare":
            try:
                validate_mbi(policy.member_id or "")
            except ValidationError:
                yield (
                    line.pk,
                    error(
                        "mbi_invalid",
                        f"The member ID on the {policy.payer.name} coverage is not a valid MBI.",
                        Fix("hme.coverage", policy.pk, "member_id"),
                        MBI,
                    ),
                )


def _months_billed(batch: Batch, line: Any) -> int:
    return max((rental.months_billed for rental in batch.rentals.get(line.pk, [])), default=0)


@register_check
def prior_authorization(batch: Batch) -> Found:
    """Items on the prior-authorization list need an approved authorization of the
    coverage, valid on the date of service, with units left. Rental months after the
    first bill under month 1's (as billing does)."""
    for line in batch.lines:
        hcpcs = line.equipment.hcpcs_code
        rule = requires_prior_auth(hcpcs)
        if rule is None or _months_billed(batch, line) >= 1:
            continue
        policy = batch.coverage(line)
        if policy is None:
            continue  # said by the coverage check
        day = batch.dates.get(line.pk) or batch.on
        units = line.delivered_quantity or line.quantity
        what = f"{hcpcs} ({rule.category.lower()}) needs prior authorization"
        mine = [
            a for a in batch.authorizations.get(policy.pk, []) if hcpcs in (a.hcpcs_codes or [])
        ]
        decided = [a for a in mine if a.status in ("approved", "expired") and a.valid_to]
        usable = [a for a in decided if a.status == "approved" and a.covers(hcpcs, day)]
        if any(a.units_left >= units for a in usable):
            continue
        if usable:
            auth = usable[0]
            yield (
                line.pk,
                error(
                    "prior_auth_units",
                    f"{what}: authorization {auth.number} has {auth.units_left} unit(s) left and "
                    f"the line bills {units}.",
                    Fix("hme.authorization", auth.pk, "units_approved"),
                    PRIOR_AUTH,
                ),
            )
        elif ended := [a for a in decided if a.valid_to < day]:
            auth = ended[-1]
            yield (
                line.pk,
                error(
                    "prior_auth_expired",
                    f"{what}: authorization {auth.number} ended on {auth.valid_to.isoformat()}, "
                    f"before the date of service {day.isoformat()}.",
                    Fix("hme.authorization", auth.pk, "valid_to"),
                    PRIOR_AUTH,
                ),
            )
        elif decided:
            auth = decided[0]
            yield (
                line.pk,
                error(
                    "prior_auth_not_yet",
                    f"{what}: authorization {auth.number} starts after the date of service "
                    f"{day.isoformat()}.",
                    Fix("hme.authorization", auth.pk, "valid_from"),
                    PRIOR_AUTH,
                ),
            )
        else:
            pending = mine[-1] if mine else None
            yield (
                line.pk,
                error(
                    "prior_auth_missing",
                    f"{what}: "
                    + (
                        f"the request on file is {pending.get_status_display().lower()}, "
                        "not approved."
                        if pending
                        else "none is on file for this coverage."
                    ),
                    Fix("hme.authorization", pending.pk, "")
                    if pending
                    else Fix("hme.coverage", policy.pk, "authorizations"),
                    PRIOR_AUTH,
                ),
            )


@register_check
def modifiers(batch: Batch) -> Found:
    """RR on rentals, NU/UE on purchases of equipment (not supplies); KH/KI/KJ only on
    capped rentals (billing adds them by month); KX only on codes with a KX policy and
    never with GA/GY/GZ."""
    for line in batch.lines:
        mods = [str(m).upper() for m in (line.modifiers or [])]
        equipment = line.equipment
        fix = _line_fix(line, "modifiers")
        if equipment.billing_kind != BillingKind.SUPPLY:
            if line.kind == LineKind.RENTAL and RENTAL not in mods:
                yield (
                    line.pk,
                    error(
                        "modifier_rr_missing",
                        f"Rental of {equipment.hcpcs_code} needs the RR modifier.",
                        fix,
                        MODIFIERS,
                    ),
                )
            if line.kind == LineKind.PURCHASE and not {NEW_PURCHASE, USED_PURCHASE} & set(mods):
                yield (
                    line.pk,
                    error(
                        "modifier_nu_ue_missing",
                        f"Purchase of {equipment.hcpcs_code} needs NU (new) or UE (used).",
                        fix,
                        MODIFIERS,
                    ),
                )
        month_mods = [m for m in mods if m in CAPPED_RENTAL_MONTH_MODIFIERS]
        if month_mods and not (
            line.kind == LineKind.RENTAL and equipment.billing_kind == BillingKind.CAPPED_RENTAL
        ):
            yield (
                line.pk,
                error(
                    "modifier_rental_month",
                    f"{month_mods[0]} marks a capped-rental month; {equipment.hcpcs_code} here is "
                    "not a capped rental. Remove it.",
                    fix,
                    MODIFIERS,
                ),
            )
        if "KX" in mods:
            conflict = [m for m in mods if m in NOT_WITH_KX]
            if conflict:
                yield (
                    line.pk,
                    error(
                        "modifier_kx_conflict",
                        f"KX (requirements met) cannot go with {', '.join(conflict)} on one line.",
                        fix,
                        MODIFIERS,
                    ),
                )
            if kx_policy(equipment.hcpcs_code) is None:
                yield (
                    line.pk,
                    error(
                        "modifier_kx_no_policy",
                        f"KX attests a coverage policy's requirements, and "
                        f"{equipment.hcpcs_code} has no policy that uses KX. Remove it.",
                        fix,
                        MODIFIERS,
                    ),
                )


@register_check
def proof_of_delivery(batch: Batch) -> Found:
    """Delivered, with a complete proof: the signer's printed name and relationship
    (or, shipped, the carrier's tracking number), and the item on it. The date
    received the database holds (CHECK delivery_delivered_has_date)."""
    for line in batch.lines:
        order = line.order
        delivery = batch.deliveries.get(order.pk)
        if delivery is None and batch.rentals.get(line.pk):
            # Rentals are started only by complete_delivery, in the transaction that
            # records the proof: a rental stands for its delivery when no row is found.
            continue
        if delivery is None:
            yield (
                line.pk,
                error(
                    "pod_missing",
                    f"Order {order.number} has no completed delivery: nothing to bill before the "
                    "proof of delivery.",
                    _order_fix(line, "deliveries"),
                    POD,
                ),
            )
            continue
        fix = Fix("dme.delivery", delivery.pk, "")
        if delivery.method == DeliveryMethod.SHIPPED:
            if not delivery.tracking_number:
                yield (
                    line.pk,
                    error(
                        "pod_tracking",
                        f"The shipped delivery of order {order.number} has no tracking number.",
                        Fix("dme.delivery", delivery.pk, "tracking_number"),
                        POD,
                    ),
                )
        elif not delivery.signer_name or not delivery.signer_relationship:
            yield (
                line.pk,
                error(
                    "pod_signature",
                    f"The proof of delivery of order {order.number} has no signer (printed name "
                    "and relationship).",
                    Fix("dme.delivery", delivery.pk, "signer_name"),
                    POD,
                ),
            )
        if (order.pk, line.pk) not in batch.delivered_items:
            yield (
                line.pk,
                error(
                    "pod_item",
                    f"{line.equipment.hcpcs_code} is not on the proof of delivery of order "
                    f"{order.number}.",
                    fix,
                    POD,
                ),
            )


@register_check
def timely_filing(batch: Batch) -> Found:
    """Days left to file: the payer's limit after the date of service (Medicare 12
    months); a warning inside the last 60 days, an error once past."""
    for line in batch.lines:
        day = batch.dates.get(line.pk)
        if day is None or line.pk in batch.extra["billed"]:
            continue
        policy = batch.coverage(line)
        limit = policy.payer.timely_filing_days if policy is not None else 365
        deadline = day + datetime.timedelta(days=limit)
        left = (deadline - batch.on).days
        if left < 0:
            yield (
                line.pk,
                error(
                    "timely_filing_past",
                    f"The date of service {day.isoformat()} is past the {limit}-day filing limit "
                    f"(ended {deadline.isoformat()}).",
                    None,
                    TIMELY,
                ),
            )
        elif left <= TIMELY_FILING_WARNING_DAYS:
            yield (
                line.pk,
                warning(
                    "timely_filing_soon",
                    f"{left} day(s) left to file the date of service {day.isoformat()} "
                    f"(limit {deadline.isoformat()}).",
                    None,
                    TIMELY,
                ),
            )


@register_check
def same_or_similar(batch: Batch) -> Found:
    """The same class of equipment for this patient from another order or rental
    inside the 5-year reasonable useful lifetime: the payer denies it (warning)."""
    for line in batch.lines:
        equipment = line.equipment
        if equipment.billing_kind == BillingKind.SUPPLY:
            continue
        day = batch.dates.get(line.pk) or batch.on
        item_class = same_or_similar_class(equipment.category, equipment.hcpcs_code)
        since = day - REASONABLE_USEFUL_LIFETIME
        for other in batch.earlier_items.get(line.order.patient_id, []):
            if (
                other["order_id"] == line.order_id
                or other["class"] != item_class
                or other["day"] is None
                or not since < other["day"] <= day
            ):
                continue
            yield (
                line.pk,
                warning(
                    "same_or_similar",
                    f"{other['hcpcs']} went to this patient on {other['day'].isoformat()} "
                    f"(order {other['order_number']}), inside the 5-year useful lifetime: "
                    "the payer will deny a same or similar item unless an ABN is on file (GA).",
                    _line_fix(line, "modifiers"),
                    SAME_SIMILAR,
                ),
            )
            break


@register_check
def frequency_limits(batch: Batch) -> Found:
    """Supplies delivered more often than the usual maximum (LCD L33718 for PAP
    supplies): a warning, the units over it are denied without documented need."""
    for line in batch.lines:
        hcpcs = line.equipment.hcpcs_code
        limit = FREQUENCY_LIMITS.get(hcpcs)
        if limit is None:
            continue
        day = batch.dates.get(line.pk) or batch.on
        since = day - limit.window
        earlier = sum(
            quantity
            for when, quantity, line_id in batch.supply_history.get(
                (line.order.patient_id, hcpcs), []
            )
            if line_id != line.pk and when is not None and since < when <= day
        )
        units = line.delivered_quantity or line.quantity
        if earlier + units > limit.quantity:
            yield (
                line.pk,
                warning(
                    "frequency_early",
                    f"{hcpcs}: {earlier + units} in the {limit.months} month(s) to "
                    f"{day.isoformat()}, over the usual maximum of {limit.describe()}: "
                    "too early without documented need.",
                    _line_fix(line, "quantity"),
                    PAP_SUPPLY_SOURCE,
                ),
            )
