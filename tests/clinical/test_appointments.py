"""Appointments: no double booking, the transition table, rescheduling rules, the API."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Membership
from clinical import services
from clinical.choices import AppointmentKind, AppointmentStatus, PatientStatus
from clinical.models import Appointment
from core.exceptions import Conflict, InvalidTransition, ServiceError
from tests.factories import LocationFactory, member

from .factories import AppointmentFactory, PatientFactory, ProviderFactory

S = AppointmentStatus


@pytest.fixture
def setup(company):
    return {
        "provider": ProviderFactory(company=company, first_name="Avery", last_name="Okafor"),
        "patient": PatientFactory(company=company),
        "location": LocationFactory(company=company),
    }


def at(hours, minutes=0):
    """A moment ``hours`` from a fixed point two days ahead (local time)."""
    base = timezone.make_aware(
        datetime.datetime.combine(
            timezone.localdate() + datetime.timedelta(days=2), datetime.time(9)
        )
    )
    return base + datetime.timedelta(hours=hours, minutes=minutes)


def book(company, setup, start, end, **fields):
    return services.book_appointment(
        Appointment(
            company=company,
            patient=fields.pop("patient", setup["patient"]),
            provider=fields.pop("provider", setup["provider"]),
            location=setup["location"],
            kind=fields.pop("kind", AppointmentKind.SETUP),
            starts_at=start,
            ends_at=end,
            **fields,
        )
    )


# Double booking ------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_an_overlapping_slot_for_the_same_provider(company, setup):
    book(company, setup, at(0), at(1))
    with pytest.raises(Conflict) as refused:
        book(company, setup, at(0, 30), at(1, 30))
    assert refused.value.code == "provider_double_booked"
    assert refused.value.message.startswith("Avery Okafor is already booked from 09:00 to 10:00")
    assert "Choose another time or provider." in refused.value.message
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end"),
    [(at(0, 15), at(0, 45)), (at(-1), at(2)), (at(-1), at(0, 1)), (at(0, 59), at(3))],
)
def test_every_kind_of_overlap_is_refused(company, setup, start, end):
    book(company, setup, at(0), at(1))
    with pytest.raises(Conflict):
        book(company, setup, start, end)


@pytest.mark.django_db
def test_back_to_back_slots_and_other_providers_are_fine(company, setup):
    book(company, setup, at(0), at(1))
    book(company, setup, at(1), at(2))
    book(company, setup, at(-1), at(0))
    book(company, setup, at(0), at(1), provider=ProviderFactory(company=company))
    assert Appointment.objects.count() == 4


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.CANCELLED, S.NO_SHOW])
def test_a_cancelled_or_missed_slot_is_free_again(company, setup, status):
    first = book(company, setup, at(0), at(1))
    Appointment.objects.filter(pk=first.pk).update(status=status)
    book(company, setup, at(0), at(1))


@pytest.mark.django_db
def test_rescheduling_checks_overlaps_but_not_against_itself(company, setup):
    first = book(company, setup, at(0), at(1))
    second = book(company, setup, at(2), at(3))
    services.update_appointment(first, starts_at=at(0, 30), ends_at=at(1, 30))
    with pytest.raises(Conflict):
        services.update_appointment(second, starts_at=at(1), ends_at=at(2, 30))
    second.refresh_from_db()
    assert second.starts_at == at(2)


@pytest.mark.django_db(transaction=True)
def test_the_overlap_check_needs_a_transaction(setup):
    # Outside a transaction the provider lock would be released at once.
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        services.ensure_provider_available(setup["provider"], at(0), at(1))


@pytest.mark.django_db
def test_the_database_refuses_an_end_before_the_start(company, setup):
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(company=company, starts_at=at(1), ends_at=at(0))


# Who can be booked ---------------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_a_deceased_patient_and_an_inactive_provider(company, setup):
    setup["patient"].status = PatientStatus.DECEASED
    setup["patient"].save()
    with pytest.raises(ServiceError, match="deceased"):
        book(company, setup, at(0), at(1))
    alive = PatientFactory(company=company)
    retired = ProviderFactory(company=company, is_active=False)
    with pytest.raises(ServiceError, match="inactive"):
        book(company, setup, at(0), at(1), patient=alive, provider=retired)


# Transitions ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([S.CONFIRMED, S.COMPLETED], True),
        ([S.CONFIRMED, S.NO_SHOW], True),
        ([S.CONFIRMED, S.CANCELLED], True),
        ([S.COMPLETED], True),
        ([S.CANCELLED, S.CONFIRMED], False),
        ([S.COMPLETED, S.CANCELLED], False),
        ([S.NO_SHOW, S.COMPLETED], False),
        ([S.CONFIRMED, S.CONFIRMED], False),
        ([S.CONFIRMED, S.SCHEDULED], False),
    ],
)
def test_the_transition_table(company, setup, path, allowed):
    past = timezone.now() - datetime.timedelta(hours=3)
    appointment = book(company, setup, past, past + datetime.timedelta(hours=1))
    *steps, last = path
    for status in steps:
        services.change_appointment_status(appointment, status)
    if allowed:
        services.change_appointment_status(appointment, last)
        appointment.refresh_from_db()
        assert appointment.status == last
    else:
        with pytest.raises(InvalidTransition, match="cannot be marked"):
            services.change_appointment_status(appointment, last)


@pytest.mark.django_db
def test_it_cannot_be_completed_or_missed_before_it_starts(company, setup):
    appointment = book(company, setup, at(0), at(1))
    for change in (services.complete_appointment, services.mark_no_show):
        with pytest.raises(InvalidTransition, match="has not started yet"):
            change(appointment)
    services.confirm_appointment(appointment)
    services.cancel_appointment(appointment)
    assert Appointment.objects.get().status == S.CANCELLED


@pytest.mark.django_db
def test_a_finished_appointment_keeps_its_schedule_but_takes_notes(company, setup):
    past = timezone.now() - datetime.timedelta(hours=3)
    appointment = book(company, setup, past, past + datetime.timedelta(hours=1))
    services.complete_appointment(appointment)
    with pytest.raises(InvalidTransition, match="cannot be rescheduled"):
        services.update_appointment(appointment, starts_at=past - datetime.timedelta(hours=1))
    services.update_appointment(appointment, notes="Fitted medium nasal mask.")
    appointment.refresh_from_db()
    assert appointment.notes == "Fitted medium nasal mask."
    assert appointment.starts_at == past


@pytest.mark.django_db
def test_a_telehealth_visit_must_be_virtual(company, setup):
    from django.core.exceptions import ValidationError

    appointment = AppointmentFactory.build(
        company=company,
        patient=setup["patient"],
        provider=setup["provider"],
        location=setup["location"],
        kind=AppointmentKind.TELEHEALTH,
    )
    with pytest.raises(ValidationError) as invalid:
        appointment.full_clean()
    assert "is_virtual" in invalid.value.message_dict


# The API -------------------------------------------------------------------------------


@pytest.fixture
def intake(company):
    return member(company, Role.INTAKE, email="intake-appointments@a.test")


def payload(setup, start, end, **extra):
    return {
        "patient": str(setup["patient"].pk),
        "provider": str(setup["provider"].pk),
        "location": str(setup["location"].pk),
        "kind": AppointmentKind.FOLLOW_UP,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        **extra,
    }


@pytest.mark.django_db
def test_the_api_refuses_a_double_booking_with_a_clear_409(setup, intake, api_client_for):
    client = api_client_for(intake)
    url = reverse("api:appointment-list")
    assert client.post(url, payload(setup, at(0), at(1)), format="json").status_code == 201
    response = client.post(url, payload(setup, at(0, 30), at(2)), format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "provider_double_booked"
    assert "already booked from 09:00 to 10:00" in error["message"]
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_the_api_ignores_a_status_sent_on_create(setup, intake, api_client_for):
    response = api_client_for(intake).post(
        reverse("api:appointment-list"),
        payload(setup, at(0), at(1), status="completed"),
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "scheduled"


@pytest.mark.django_db
def test_the_api_refuses_an_end_before_the_start(setup, intake, api_client_for):
    response = api_client_for(intake).post(
        reverse("api:appointment-list"), payload(setup, at(1), at(0)), format="json"
    )
    assert response.status_code == 400
    assert "ends_at" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_the_api_reschedule_is_checked(company, setup, intake, api_client_for):
    book(company, setup, at(0), at(1))
    second = book(company, setup, at(2), at(3))
    response = api_client_for(intake).patch(
        reverse("api:appointment-detail", args=[second.pk]),
        {"starts_at": at(0, 30).isoformat()},
        format="json",
    )
    assert response.status_code == 409


@pytest.mark.django_db
def test_the_api_actions_move_the_status(company, setup, intake, api_client_for):
    appointment = book(company, setup, at(0), at(1))
    client = api_client_for(intake)

    def act(name):
        return client.post(reverse(f"api:appointment-{name}", args=[appointment.pk]))

    response = act("confirm")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"
    response = act("complete")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "appointment_not_started"
    assert act("cancel").json()["status"] == "cancelled"
    response = act("confirm")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert reverse("api:appointment-no-show", args=[appointment.pk]).endswith("/no-show/")


@pytest.mark.django_db
def test_a_read_only_role_cannot_use_the_actions(company, setup, personas, api_client_for):
    appointment = book(company, setup, at(0), at(1))
    response = api_client_for(personas[Role.AUDITOR]).post(
        reverse("api:appointment-confirm", args=[appointment.pk])
    )
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == S.SCHEDULED


@pytest.mark.django_db
def test_the_api_filters_by_patient_provider_status_and_dates(
    company, setup, intake, api_client_for
):
    target = book(company, setup, at(0), at(1))
    book(company, setup, at(26), at(27))  # the next day
    other = book(company, setup, at(0), at(1), provider=ProviderFactory(company=company))
    services.cancel_appointment(other)
    book(
        company,
        setup,
        at(0),
        at(1),
        patient=PatientFactory(company=company),
        provider=ProviderFactory(company=company),
    )
    response = api_client_for(intake).get(
        reverse("api:appointment-list"),
        {
            "patient": setup["patient"].pk,
            "provider": setup["provider"].pk,
            "status": ["scheduled", "confirmed"],
            "starts_at_after": at(-1).isoformat(),
            "starts_at_before": at(12).isoformat(),
        },
    )
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [str(target.pk)]


@pytest.mark.django_db
def test_staff_limited_to_a_location_see_only_its_appointments(company, setup, api_client_for):
    elsewhere = LocationFactory(company=company)
    mine = book(company, setup, at(0), at(1))
    AppointmentFactory(company=company, location=elsewhere)
    clerk = member(company, Role.INTAKE, email="branch-clerk@a.test")
    Membership.objects.get(user=clerk).locations.set([setup["location"]])
    response = api_client_for(clerk).get(reverse("api:appointment-list"))
    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]
