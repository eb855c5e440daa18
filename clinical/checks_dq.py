"""Data-quality checks of the clinical records: references stay inside the company,
stored codes keep their format, the patient list stays free of duplicates.

Each check is one or two SQL queries (no Python loop over patients); the only Python
pass is the NPI check digit over providers, a small table, streamed.
"""

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Lower
from django.utils import timezone

from core.quality import Outcome, Severity, register
from core.quality.checks import (
    DAILY_FRESHNESS,
    SAMPLE_LIMIT,
    changed_rows,
    invalid_values,
    json_array_mismatch,
    null_ratio,
    own_changes,
    pattern_mismatch,
    register_tenant_checks,
    stale,
)
from core.validators import validate_npi

from .choices import AppointmentStatus, PatientStatus
from .models import Appointment, Diagnosis, MedicalRecord, Patient, Provider

# Stored without the dot: letter, digit, letter or digit, then up to four more
# (core.validators.validate_icd10 on the normalised form).
ICD10_STORED = r"[A-Z][0-9][A-Z0-9][A-Z0-9]{0,4}"

# Referential integrity: every foreign key between the app's tenant models.
TENANT_CHECKS = register_tenant_checks("clinical")


# Formats -----------------------------------------------------------------------------


@register(
    "clinical.provider_npi",
    severity=Severity.ERROR,
    model=Provider,
    description="Providers whose NPI is not 10 digits starting with 1 or 2 with a valid "
    "Luhn check digit: payers reject every order and claim naming them.",
)
def provider_npi():
    # The check digit is not a regular expression: a streamed Python pass, 2,000 rows
    # at a time; incremental (only providers changed since a passed full pass, a full
    # pass every DATA_QUALITY_FULL_PASS_DAYS: core.quality.checks.invalid_values).
    return invalid_values(
        Provider._base_manager.all(), "npi", validate_npi, what="NPIs", incremental=True
    )


@register(
    "clinical.diagnosis_icd10_format",
    severity=Severity.ERROR,
    model=Diagnosis,
    description="Diagnoses whose stored ICD-10-CM code is malformed (3-7 characters, "
    "letter, digit, letter or digit, no dot): claims built from them are rejected.",
)
def diagnosis_icd10_format():
    failing = pattern_mismatch(Diagnosis, "code", f"^{ICD10_STORED}$", blank_ok=False)
    return changed_rows(failing, own_changes(Diagnosis), what="diagnoses")


@register(
    "clinical.medical_record_icd10_format",
    severity=Severity.ERROR,
    model=MedicalRecord,
    description="Medical records whose diagnosis codes are not a list of well-formed "
    "ICD-10-CM codes (stored without the dot).",
)
def medical_record_icd10_format():
    failing = json_array_mismatch(MedicalRecord, "diagnosis_codes", f'"{ICD10_STORED}"')
    return changed_rows(failing, own_changes(MedicalRecord), what="medical records")


# Null ratios -------------------------------------------------------------------------


@register(
    "clinical.patient_primary_prescriber_null_ratio",
    severity=Severity.WARNING,
    model=Patient,
    description="More than 20% of active patients have no primary prescriber: orders, "
    "renewals and resupply need one, and nearly every DME patient comes by referral.",
)
def patient_primary_prescriber_null_ratio():
    return null_ratio(
        Patient._base_manager.filter(status=PatientStatus.ACTIVE), "primary_prescriber", 0.20
    )


@register(
    "clinical.patient_phone_null_ratio",
    severity=Severity.WARNING,
    model=Patient,
    description="More than 5% of active patients have no phone number: deliveries are "
    "scheduled and resupply confirmed by phone.",
)
def patient_phone_null_ratio():
    # The phone is encrypted; its blind index is empty exactly when the phone is.
    return null_ratio(Patient._base_manager.filter(status=PatientStatus.ACTIVE), "phone_bidx", 0.05)


# Duplicates --------------------------------------------------------------------------


@register(
    "clinical.possible_duplicate_patients",
    severity=Severity.WARNING,
    model=Patient,
    description="Patients of one company sharing a last name (any case) and date of "
    "birth (through its blind index): possible duplicates to merge or confirm.",
)
def possible_duplicate_patients():
    groups = (
        Patient._base_manager.filter(dob_bidx__isnull=False)
        .annotate(last=Lower("last_name"))
        .values("company", "last", "dob_bidx")
        .annotate(size=Count("pk"))
        .filter(size__gt=1)
        .order_by()
    )
    totals = groups.aggregate(groups=Count("*"), patients=Sum("size"))
    if not totals["groups"]:
        return Outcome(count=0, detail="No two patients of a company share both.")
    first = groups.order_by("company", "last", "dob_bidx")[:SAMPLE_LIMIT]
    members = Q()
    for group in first:
        members |= Q(
            company=group["company"], last_name__iexact=group["last"], dob_bidx=group["dob_bidx"]
        )
    samples = list(
        Patient._base_manager.filter(members)
        .order_by("company", Lower("last_name"), "dob_bidx", "pk")
        .values_list("pk", flat=True)[:SAMPLE_LIMIT]
    )
    return Outcome(
        count=totals["patients"],
        sample_ids=samples,
        detail=f"{totals['patients']} patients in {totals['groups']} groups share a company, "
        "last name and date of birth.",
    )


# Freshness and hygiene ---------------------------------------------------------------


@register(
    "clinical.appointments_freshness",
    severity=Severity.WARNING,
    model=Appointment,
    description="No appointment was booked or changed for more than 96 hours (skipped "
    "while there are none).",
)
def appointments_freshness():
    return stale(Appointment, DAILY_FRESHNESS)


@register(
    "clinical.past_appointments_still_open",
    severity=Severity.WARNING,
    model=Appointment,
    description="Appointments that ended more than two days ago and are still scheduled "
    "or confirmed: nobody recorded whether they took place (completed or no-show).",
)
def past_appointments_still_open():
    return Appointment._base_manager.filter(
        status__in=[AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED],
        ends_at__lt=timezone.now() - timedelta(days=2),
    )
