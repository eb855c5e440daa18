"""Every operation that changes clinical state: one function each, atomic, raising
``core.exceptions`` errors whose message says what to do.

Admin actions, admin forms, API views and the demo data call these; none re-implements
them.
"""

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Company, User
from core.events import emit
from core.exceptions import Conflict, InvalidTransition, ServiceError
from core.locks import lock_row
from core.notifications import notify_patient
from core.transitions import check_transition

from .choices import AlertStatus, AppointmentStatus, PatientStatus
from .models import Appointment, BiometricAlert, HealthInsight, Patient, Provider
from .models.appointments import NO_OVERLAP_CONSTRAINT
from .notifications import APPOINTMENT_CONFIRMATION, APPOINTMENT_REMINDER
from .transitions import ALERT_TRANSITIONS, APPOINTMENT_TRANSITIONS, BEFORE_START_ALLOWED

# Patients ----------------------------------------------------------------------------


def find_possible_duplicates(
    company: Company | None,
    last_name: str | None,
    dob: datetime.date | str | None,
    *,
    exclude: Patient | None = None,
) -> list[str]:
    """Patient numbers of the company's patients with the same last name (any case)
    and date of birth. Numbers only: never their PHI."""
    if not (company and last_name and dob):
        return []
    queryset = Patient.objects.filter(
        company=company, last_name__iexact=last_name.strip()
    ).filter_blind("dob", dob)
    if exclude is not None and exclude.pk:
        queryset = queryset.exclude(pk=exclude.pk)
    return list(queryset.order_by("number").values_list("number", flat=True))


def duplicate_message(numbers: Iterable[str]) -> str:
    listed = ", ".join(numbers)
    return (
        f"Possible duplicate: {listed} already has this last name and date of birth. "
        "Open that record first; if this really is another person, confirm the duplicate "
        "to create the patient anyway."
    )


def register_patient(patient: Patient, *, confirm_duplicate: bool = False) -> Patient:
    """Save a new patient (company set), refusing a possible duplicate unless confirmed.

    Raises ``Conflict`` with code ``possible_duplicate``, listing the existing patient
    numbers, when another patient of the company has the same last name and date of
    birth and ``confirm_duplicate`` is false.
    """
    if patient.pk and not patient._state.adding:
        raise ServiceError("This patient already exists.", code="already_registered")
    with transaction.atomic():
        numbers = find_possible_duplicates(patient.company, patient.last_name, patient.dob)
        if numbers and not confirm_duplicate:
            message = duplicate_message(numbers)
            raise Conflict(
                message, code="possible_duplicate", fields={"confirm_duplicate": [message]}
            )
        patient.save()
        emit("patient.created", patient, {"status": patient.status}, company=patient.company_id)
    return patient


def update_patient(patient: Patient, fields: Iterable[str]) -> Patient:
    """Save an existing patient's changes; the event names the fields, never values."""
    with transaction.atomic():
        patient.save()
        names = sorted(set(fields) & {field.name for field in Patient._meta.concrete_fields})
        emit("patient.updated", patient, {"fields": names}, company=patient.company_id)
    return patient


# Providers ---------------------------------------------------------------------------


def verify_provider(provider: Provider, *, verified: bool = True) -> Provider:
    """Record that staff checked (or withdrew the check of) the NPI and licence."""
    with transaction.atomic():
        provider = lock_row(provider)
        provider.is_verified = verified
        provider.verified_at = timezone.now() if verified else None
        provider.save(update_fields=["is_verified", "verified_at"])
    return provider


# Appointments ------------------------------------------------------------------------

# What may still change once an appointment is over: the visit's notes.
SCHEDULE_FIELDS = ("patient", "provider", "location", "kind", "starts_at", "ends_at", "is_virtual")
RESCHEDULABLE_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment)


def overlap_message(provider: Provider, other: Appointment) -> str:
    start, end = _local(other.starts_at), _local(other.ends_at)
    return (
        f"{provider.full_name} is already booked from {start:%H:%M} to {end:%H:%M} on "
        f"{date_format(start.date(), 'DATE_FORMAT')}. Choose another time or provider."
    )


def ensure_provider_available(
    provider: Provider,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    *,
    exclude: Appointment | None = None,
) -> None:
    """Lock the provider row, then refuse a slot overlapping one of their blocking
    appointments (``Conflict``, code ``provider_double_booked``).

    The lock lasts until the caller's transaction ends, so a concurrent booking for
    the same provider waits here and then sees this one: call it inside the
    transaction that saves the appointment.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ensure_provider_available must run inside transaction.atomic().")
    lock_row(provider)
    clash = (
        Appointment.objects.filter(provider_id=provider.pk)
        .blocking()
        .overlapping(starts_at, ends_at)
        .order_by("starts_at")
    )
    if exclude is not None and exclude.pk:
        clash = clash.exclude(pk=exclude.pk)
    other = clash.only("starts_at", "ends_at").first()
    if other is not None:
        raise Conflict(
            overlap_message(provider, other),
            code="provider_double_booked",
            fields={"starts_at": [overlap_message(provider, other)]},
        )


def save_appointment(appointment: Appointment) -> Appointment:
    """Save a new or changed appointment, never double-booking its provider.

    Call after validating the instance (form or serializer). The check runs under the
    provider lock; on PostgreSQL the exclusion constraint is the backstop.
    """
    with transaction.atomic():
        if appointment.blocks_provider:
            ensure_provider_available(
                appointment.provider,
                appointment.starts_at,
                appointment.ends_at,
                exclude=appointment,
            )
        booked = appointment._state.adding
        try:
            with transaction.atomic():
                appointment.save()
        except IntegrityError as error:
            if NO_OVERLAP_CONSTRAINT in str(error):
                raise Conflict(
                    f"{appointment.provider.full_name} is already booked at that time. "
                    "Choose another time or provider.",
                    code="provider_double_booked",
                ) from error
            raise
        emit(
            f"appointment.{'booked' if booked else 'changed'}",
            appointment,
            _appointment_data(appointment),
            company=appointment.company_id,
        )
        if booked and appointment.status == AppointmentStatus.SCHEDULED:
            # Sent after the commit (core.notifications), by the patient's channel.
            notify_patient(
                appointment.patient,
                APPOINTMENT_CONFIRMATION,
                {"appointment": appointment},
                related=appointment,
            )
    return appointment


def _appointment_data(appointment: Appointment) -> dict[str, Any]:
    return {
        "patient_id": appointment.patient_id,
        "provider_id": appointment.provider_id,
        "status": appointment.status,
        "kind": appointment.kind,
    }


def ensure_bookable(patient: Patient, provider: Provider) -> None:
    """Refuse a booking for a deceased patient or with an inactive provider."""
    if patient.status == PatientStatus.DECEASED:
        raise ServiceError(
            f"Patient {patient.number} is recorded as deceased: no appointment can be booked.",
            code="patient_deceased",
            fields={"patient": ["This patient is recorded as deceased."]},
        )
    if not provider.is_active:
        raise ServiceError(
            f"{provider.full_name} is inactive: choose an active provider.",
            code="provider_inactive",
            fields={"provider": ["This provider is inactive."]},
        )


def ensure_reschedulable(appointment: Appointment, changed_fields: Iterable[str]) -> None:
    """Refuse changing the time, people, place or kind of a finished appointment."""
    changed = set(changed_fields) & set(SCHEDULE_FIELDS)
    if changed and appointment.status not in RESCHEDULABLE_STATUSES:
        raise InvalidTransition(
            f"A {appointment.get_status_display().lower()} appointment cannot be "
            "rescheduled; book a new one.",
            code="appointment_closed",
        )


def book_appointment(appointment: Appointment) -> Appointment:
    """Book a new appointment (status scheduled) for a living patient with an active
    provider."""
    ensure_bookable(appointment.patient, appointment.provider)
    appointment.status = AppointmentStatus.SCHEDULED
    return save_appointment(appointment)


def update_appointment(appointment: Appointment, **changes: Any) -> Appointment:
    """Change an appointment's details: time, people, place and kind only while it is
    scheduled or confirmed; notes always."""
    changed = [name for name, value in changes.items() if getattr(appointment, name) != value]
    ensure_reschedulable(appointment, changed)
    if "provider" in changed or "patient" in changed:
        ensure_bookable(
            changes.get("patient", appointment.patient),
            changes.get("provider", appointment.provider),
        )
    for name, value in changes.items():
        setattr(appointment, name, value)
    return save_appointment(appointment)


def change_appointment_status(appointment: Appointment, status: str) -> Appointment:
    """Move an appointment along ``APPOINTMENT_TRANSITIONS``."""
    status = AppointmentStatus(status)
    with transaction.atomic():
        locked = lock_row(appointment)
        check_transition(
            APPOINTMENT_TRANSITIONS,
            locked.status,
            status,
            message=lambda current, target: (
                f"A {current.label.lower()} appointment cannot be marked {target.label.lower()}."
            ),
        )
        if status not in BEFORE_START_ALLOWED and locked.starts_at > timezone.now():
            raise InvalidTransition(
                f"The appointment has not started yet: it cannot be marked "
                f"{status.label.lower()} before {_local(locked.starts_at):%Y-%m-%d %H:%M}.",
                code="appointment_not_started",
            )
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        emit(
            "appointment.cancelled"
            if status == AppointmentStatus.CANCELLED
            else "appointment.changed",
            locked,
            _appointment_data(locked),
            company=locked.company_id,
        )
    appointment.status = locked.status
    appointment.updated_at = locked.updated_at
    return appointment


def confirm_appointment(appointment: Appointment) -> Appointment:
    return change_appointment_status(appointment, AppointmentStatus.CONFIRMED)


def complete_appointment(appointment: Appointment) -> Appointment:
    return change_appointment_status(appointment, AppointmentStatus.COMPLETED)


def cancel_appointment(appointment: Appointment) -> Appointment:
    return change_appointment_status(appointment, AppointmentStatus.CANCELLED)


def mark_no_show(appointment: Appointment) -> Appointment:
    return change_appointment_status(appointment, AppointmentStatus.NO_SHOW)


# The 24-hour reminder (beat: clinical.tasks.send_appointment_reminders, hourly) -------
REMINDER_AHEAD = datetime.timedelta(hours=24)
# Hourly runs with a two-hour window: a late or skipped run still reminds once.
REMINDER_WINDOW = datetime.timedelta(hours=2)


def send_appointment_reminders(now: datetime.datetime | None = None) -> int:
    """Remind every patient whose appointment (scheduled or confirmed) starts 23 to 25
    hours from ``now``, once per appointment. Returns how many were queued."""
    from core.notifications.models import Notification

    now = now or timezone.now()
    start = now + REMINDER_AHEAD - REMINDER_WINDOW / 2
    due = list(
        Appointment.objects.filter(
            starts_at__gte=start,
            starts_at__lt=start + REMINDER_WINDOW,
            status__in=[AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED],
        ).select_related("patient", "patient__company", "location", "company")
    )
    reminded = set(
        Notification.objects.filter(
            template=APPOINTMENT_REMINDER,
            related_type=Appointment._meta.label_lower,
            related_id__in=[str(appointment.pk) for appointment in due],
        ).values_list("related_id", flat=True)
    )
    sent = 0
    for appointment in due:
        if str(appointment.pk) in reminded:
            continue
        with transaction.atomic():
            notify_patient(
                appointment.patient,
                APPOINTMENT_REMINDER,
                {"appointment": appointment},
                related=appointment,
            )
        sent += 1
    return sent


# Biometric alerts --------------------------------------------------------------------


def _move_alert(alert: BiometricAlert, status: AlertStatus) -> BiometricAlert:
    locked = lock_row(alert)
    check_transition(
        ALERT_TRANSITIONS,
        locked.status,
        status,
        message=lambda current, target: (
            f"This alert is already {current.label.lower()}: it cannot be {target.label.lower()}."
        ),
    )
    return locked


def acknowledge_alert(alert: BiometricAlert, user: User) -> BiometricAlert:
    """Someone has seen the alert and is dealing with it."""
    with transaction.atomic():
        locked = _move_alert(alert, AlertStatus.ACKNOWLEDGED)
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_by = user
        locked.acknowledged_at = timezone.now()
        locked.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "updated_at"])
    return locked


def resolve_alert(alert: BiometricAlert, user: User, note: str = "") -> BiometricAlert:
    """Close the alert; resolving an open alert acknowledges it at the same time."""
    with transaction.atomic():
        locked = _move_alert(alert, AlertStatus.RESOLVED)
        now = timezone.now()
        if locked.acknowledged_at is None:
            locked.acknowledged_by = user
            locked.acknowledged_at = now
        locked.status = AlertStatus.RESOLVED
        locked.resolved_by = user
        locked.resolved_at = now
        locked.resolution_note = note
        locked.save(
            update_fields=[
                "status",
                "acknowledged_by",
                "acknowledged_at",
                "resolved_by",
                "resolved_at",
                "resolution_note",
                "updated_at",
            ]
        )
    return locked


# Health insights ---------------------------------------------------------------------


def record_insight_action(insight: HealthInsight, user: User, action: str | None) -> HealthInsight:
    """Record what staff did about an actionable insight (once)."""
    action = (action or "").strip()
    if not action:
        raise ServiceError(
            "Say what was done.", code="action_required", fields={"action": ["Required."]}
        )
    with transaction.atomic():
        locked = lock_row(insight)
        if not locked.is_actionable:
            raise InvalidTransition(
                "This insight is informational: it takes no action.", code="not_actionable"
            )
        if locked.action_taken_at is not None:
            raise Conflict(
                "An action was already recorded for this insight.", code="action_already_taken"
            )
        locked.action_taken = action
        locked.action_taken_by = user
        locked.action_taken_at = timezone.now()
        locked.save(
            update_fields=["action_taken", "action_taken_by", "action_taken_at", "updated_at"]
        )
    return locked
