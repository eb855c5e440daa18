"""The clinical data-quality checks: each finds the row it is about, and only that row."""

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from clinical.choices import AppointmentStatus
from clinical.models import Appointment, Diagnosis, MedicalRecord, Patient, Provider
from core.quality import get_checks
from core.quality.runner import run_checks
from tests.clinical.factories import (
    AppointmentFactory,
    DiagnosisFactory,
    MedicalRecordFactory,
    PatientFactory,
    ProviderFactory,
)

pytestmark = pytest.mark.django_db


def found(name):
    """``(count, sample ids, detail)`` of one check, run and stored by the runner."""
    finding = run_checks([name]).findings.get()
    assert finding.passed == (finding.count == 0), finding.detail
    return finding.count, finding.sample_ids, finding.detail


def test_it_registers_one_company_check_per_foreign_key_between_tenant_models():
    names = {c.name for c in get_checks() if c.name.startswith("clinical.")}
    assert {
        "clinical.patient_primary_prescriber_company",
        "clinical.patient_home_location_company",
        "clinical.appointment_patient_company",
        "clinical.appointment_provider_company",
        "clinical.appointment_location_company",
        "clinical.medicalrecord_provider_company",
        "clinical.diagnosis_patient_company",
        "clinical.predictionlog_model_company",
        "clinical.digitaltwin_patient_company",
    } <= names
    # Links to users (created_by, provider.user) and to the company itself are not tenants.
    assert not {n for n in names if n.endswith(("_company_company", "_user_company"))}
    assert not {n for n in names if "created_by" in n or "acknowledged_by" in n}


def test_it_finds_a_patient_whose_prescriber_is_another_companys(company, other_company):
    mine = ProviderFactory(company=company)
    PatientFactory(company=company, primary_prescriber=mine)
    crossed = PatientFactory(company=company)
    Patient.objects.filter(pk=crossed.pk).update(
        primary_prescriber=ProviderFactory(company=other_company)
    )
    assert found("clinical.patient_primary_prescriber_company")[:2] == (1, [str(crossed.pk)])


def test_it_finds_an_appointment_with_another_companys_provider(company, other_company):
    AppointmentFactory(company=company)
    crossed = AppointmentFactory(company=company)
    assert found("clinical.appointment_provider_company")[0] == 0
    Appointment.objects.filter(pk=crossed.pk).update(
        provider=ProviderFactory(company=other_company)
    )
    assert found("clinical.appointment_provider_company")[:2] == (1, [str(crossed.pk)])
    assert found("clinical.appointment_patient_company")[0] == 0


def test_it_checks_every_npi_check_digit(company):
    ProviderFactory(company=company)
    assert found("clinical.provider_npi")[0] == 0
    bad = ProviderFactory(company=company)
    Provider.objects.filter(pk=bad.pk).update(npi="1234567890")  # check digit is 3
    count, samples, detail = found("clinical.provider_npi")
    assert (count, samples) == (1, [str(bad.pk)])
    # The second run reads only the rows changed since the first (both are, here).
    assert detail == "1 of 2 NPIs invalid (those changed since the last run)."


def test_it_finds_malformed_stored_icd10_codes(company):
    good = DiagnosisFactory(company=company, code="T14.90XA")
    bad = DiagnosisFactory(company=company, code="J449")
    assert good.code == "T1490XA"
    assert found("clinical.diagnosis_icd10_format")[0] == 0
    Diagnosis.objects.filter(pk=bad.pk).update(code="4J49")  # a letter comes first
    assert found("clinical.diagnosis_icd10_format")[:2] == (1, [str(bad.pk)])

    MedicalRecordFactory(company=company, diagnosis_codes=["G4733", "J449"])
    MedicalRecordFactory(company=company, diagnosis_codes=[])
    bad_record = MedicalRecordFactory(company=company)
    assert found("clinical.medical_record_icd10_format")[0] == 0
    MedicalRecord.objects.filter(pk=bad_record.pk).update(diagnosis_codes=["G4733", "4733"])
    assert found("clinical.medical_record_icd10_format")[:2] == (1, [str(bad_record.pk)])


def test_it_warns_when_too_many_active_patients_have_no_prescriber_or_phone(company):
    prescriber = ProviderFactory(company=company)
    PatientFactory.create_batch(4, company=company, primary_prescriber=prescriber)
    PatientFactory(company=company, phone="")  # 1 of 5: 20% is not over 20%
    assert found("clinical.patient_primary_prescriber_null_ratio")[0] == 0
    assert found("clinical.patient_phone_null_ratio")[0] == 1
    PatientFactory(company=company)
    count, _, detail = found("clinical.patient_primary_prescriber_null_ratio")
    assert count == 2
    assert detail == "2 of 6 rows (33.3%) have no primary_prescriber; at most 20%."
    # Inactive patients are not counted.
    Patient.objects.filter(primary_prescriber__isnull=True).update(status="inactive")
    assert found("clinical.patient_primary_prescriber_null_ratio")[0] == 0


def test_it_finds_possible_duplicate_patients_without_showing_who(company, other_company):
    dob = datetime.date(1961, 3, 14)
    first = PatientFactory(company=company, last_name="Okonkwo", dob=dob)
    second = PatientFactory(company=company, last_name="OKONKWO", dob=dob)
    PatientFactory(company=company, last_name="Okonkwo", dob=datetime.date(1961, 3, 15))
    PatientFactory(company=company, last_name="Okonkwo-Lee", dob=dob)
    PatientFactory(company=other_company, last_name="Okonkwo", dob=dob)
    count, samples, detail = found("clinical.possible_duplicate_patients")
    assert count == 2
    assert sorted(samples) == sorted([str(first.pk), str(second.pk)])
    assert detail == "2 patients in 1 groups share a company, last name and date of birth."
    assert "kwo" not in detail.lower()
    assert "1961" not in detail


def test_unique_patients_pass_the_duplicate_check(company):
    PatientFactory.create_batch(3, company=company)
    count, samples, _ = found("clinical.possible_duplicate_patients")
    assert (count, samples) == (0, [])


def test_appointments_freshness_skips_an_empty_table_and_warns_when_quiet(company):
    assert found("clinical.appointments_freshness")[0] == 0
    AppointmentFactory(company=company)
    assert found("clinical.appointments_freshness")[0] == 0
    Appointment.objects.update(updated_at=timezone.now() - timedelta(days=5))
    count, _, detail = found("clinical.appointments_freshness")
    assert count == 1
    assert detail.startswith("No appointments changed for 12")


def test_it_finds_past_appointments_nobody_closed(company):
    past = AppointmentFactory(company=company)
    done = AppointmentFactory(company=company)
    AppointmentFactory(company=company)  # tomorrow: still to come
    start = timezone.now() - timedelta(days=3)
    Appointment.objects.filter(pk__in=[past.pk, done.pk]).update(
        starts_at=start, ends_at=start + timedelta(hours=1)
    )
    Appointment.objects.filter(pk=done.pk).update(status=AppointmentStatus.COMPLETED)
    assert found("clinical.past_appointments_still_open")[:2] == (1, [str(past.pk)])
