"""PostgreSQL only: concurrent bookings, the exclusion constraint, concurrent patient
numbers, and the prefix indexes behind the patient search."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinical import services
from clinical.choices import AppointmentKind, AppointmentStatus
from clinical.models import Appointment, Patient
from clinical.models.appointments import NO_OVERLAP_CONSTRAINT
from core.exceptions import Conflict
from tests.concurrency import race
from tests.factories import LocationFactory

from .factories import AppointmentFactory, PatientFactory, ProviderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(jobs):
    """Run the callables at the same moment (``tests.concurrency.race``); each outcome as
    ``("ok", result)``, ``("conflict", message)`` or ``("error", repr)``."""

    def outcome(result):
        if isinstance(result, Conflict):
            return ("conflict", result.message)
        if isinstance(result, Exception):  # surfaced by the assertions below
            return ("error", repr(result))
        return ("ok", result)

    return [outcome(result) for result in race(jobs)]


@pytest.fixture
def slot_setup(postgres_only, company):
    return {
        "provider": ProviderFactory(company=company, first_name="Avery", last_name="Okafor"),
        "location": LocationFactory(company=company),
        "patients": PatientFactory.create_batch(4, company=company),
        "start": timezone.now().replace(microsecond=0) + datetime.timedelta(days=3),
    }


def booking(company, setup, patient, offset_minutes):
    start = setup["start"] + datetime.timedelta(minutes=offset_minutes)

    def job():
        return services.book_appointment(
            Appointment(
                company=company,
                patient=patient,
                provider=setup["provider"],
                location=setup["location"],
                kind=AppointmentKind.SETUP,
                starts_at=start,
                ends_at=start + datetime.timedelta(hours=1),
            )
        ).pk

    return job


def test_two_concurrent_overlapping_bookings_exactly_one_succeeds(company, slot_setup):
    for round_number in range(3):
        offset = round_number * 240  # each round in its own, free, time window
        results = run_at_once(
            [
                booking(company, slot_setup, slot_setup["patients"][0], offset),
                booking(company, slot_setup, slot_setup["patients"][1], offset + 30),
            ]
        )
        outcomes = sorted(kind for kind, _ in results)
        assert outcomes == ["conflict", "ok"], results
        message = next(value for kind, value in results if kind == "conflict")
        assert "Avery Okafor is already booked from" in message
    assert Appointment.objects.count() == 3


def test_four_concurrent_bookings_of_one_slot_leave_one(company, slot_setup):
    results = run_at_once(
        [
            booking(company, slot_setup, patient, 15 * i)
            for i, patient in enumerate(slot_setup["patients"])
        ]
    )
    assert sorted(kind for kind, _ in results) == ["conflict", "conflict", "conflict", "ok"]
    assert Appointment.objects.count() == 1


def test_the_exclusion_constraint_refuses_a_write_that_skips_the_service(company, slot_setup):
    first = AppointmentFactory(
        company=company,
        provider=slot_setup["provider"],
        starts_at=slot_setup["start"],
        ends_at=slot_setup["start"] + datetime.timedelta(hours=1),
    )
    with pytest.raises(IntegrityError, match=NO_OVERLAP_CONSTRAINT), transaction.atomic():
        AppointmentFactory(
            company=company,
            provider=slot_setup["provider"],
            starts_at=first.starts_at + datetime.timedelta(minutes=30),
            ends_at=first.ends_at + datetime.timedelta(minutes=30),
        )
    # Cancelled and missed slots do not block, as in the service.
    for status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        AppointmentFactory(
            company=company,
            provider=slot_setup["provider"],
            status=status,
            starts_at=first.starts_at,
            ends_at=first.ends_at,
        )
    # Back to back is fine: the range is half-open.
    AppointmentFactory(
        company=company,
        provider=slot_setup["provider"],
        starts_at=first.ends_at,
        ends_at=first.ends_at + datetime.timedelta(hours=1),
    )


def test_the_service_turns_the_constraint_into_the_clear_error(company, slot_setup, monkeypatch):
    booking(company, slot_setup, slot_setup["patients"][0], 0)()
    # As if the locked check had missed it: the database still says no, in words.
    monkeypatch.setattr(services, "ensure_provider_available", lambda *a, **k: None)
    with pytest.raises(Conflict, match="already booked at that time") as refused:
        booking(company, slot_setup, slot_setup["patients"][1], 10)()
    assert refused.value.code == "provider_double_booked"


def test_concurrent_patient_registrations_draw_distinct_numbers(postgres_only, company):
    def register(index):
        def job():
            patient = Patient(
                company=company,
                first_name="Concurrent",
                last_name=f"Patient{index}",
                dob=datetime.date(1950, 1, 1 + index),
            )
            return services.register_patient(patient).number

        return job

    results = run_at_once([register(i) for i in range(6)])
    numbers = sorted(value for kind, value in results if kind == "ok")
    assert [kind for kind, _ in results] == ["ok"] * 6, results
    assert numbers == [f"P-{n:06d}" for n in range(1, 7)]


def test_the_name_search_uses_the_prefix_indexes(postgres_only, company):
    # Enough rows, analysed, for the planner to choose as it would on a real table.
    surnames = ["Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Lee"]
    Patient.objects.bulk_create(
        Patient(
            company=company,
            number=f"P-{i:06d}",
            first_name=f"First{i}",
            last_name=f"{surnames[i % len(surnames)]}{i}",
            dob=datetime.date(1950, 1, 1),
        )
        for i in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE clinical_patient")
    plan = Patient.objects.filter(company=company).search("smith12").explain()
    # Both name columns through their pattern indexes, as ranges: a prefix scan.
    assert "Bitmap Index Scan on patient_last_prefix_idx" in plan, plan
    assert "Bitmap Index Scan on patient_first_prefix_idx" in plan, plan
    assert "~>=~ 'SMITH12'" in plan
    plan = Patient.objects.filter(company=company).search("Smith12, Fi").explain()
    assert "patient_last_prefix_idx" in plan, plan
