"""Notifications: e-mail and SMS by Celery, the patient's channel and opt-out, every
send recorded, a failing send retried with backoff and recorded without PHI; the
appointment, delivery and signing hooks."""

import datetime

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from clinical import services as clinical_services
from clinical.models import Appointment
from core.notifications import backends, notify_patient, registered_templates
from core.notifications.backends import BaseSMSBackend
from core.notifications.choices import NotificationStatus
from core.notifications.models import Notification
from core.notifications.tasks import backoff
from tests.clinical.factories import AppointmentFactory, PatientFactory, ProviderFactory

TEMPLATE = "clinical.appointment_reminder"


class FailingSMSBackend(BaseSMSBackend):
    """Refuses every message, quoting it (the error must not reach the record)."""

    calls = 0

    def send_message(self, to, body):
        type(self).calls += 1
        raise ConnectionError(f"gateway down while sending to {to}: {body}")


class FlakySMSBackend(BaseSMSBackend):
    """Fails the first attempt, then sends."""

    calls = 0

    def send_message(self, to, body):
        type(self).calls += 1
        if type(self).calls == 1:
            raise TimeoutError("slow gateway")
        backends.outbox.append(backends.SMSMessage(to, body))


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    backends.outbox.clear()
    FailingSMSBackend.calls = FlakySMSBackend.calls = 0


@pytest.fixture
def appointment(company):
    return AppointmentFactory(company=company)


def send(patient, appointment, capture):
    with capture(execute=True):
        return notify_patient(patient, TEMPLATE, {"appointment": appointment}, related=appointment)


def test_every_app_registers_its_templates():
    keys = {template.key for template in registered_templates()}
    assert {
        "clinical.appointment_confirmation",
        "clinical.appointment_reminder",
        "dme.delivery_scheduled",
        "documents.signing_request",
        "resupply.outreach",
    } <= keys


@pytest.mark.django_db
def test_an_email_is_sent_and_recorded(appointment, django_capture_on_commit_callbacks):
    patient = appointment.patient
    notification = send(patient, appointment, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert (notification.attempts, notification.channel) == (1, "email")
    assert notification.sent_at is not None
    assert notification.patient_id == patient.pk
    # The body is erased once sent; the address stays encrypted.
    assert notification.body == ""
    (message,) = mail.outbox
    assert message.to == [patient.email]
    assert patient.first_name in message.body
    assert message.subject == notification.subject


@pytest.mark.django_db
def test_the_patient_preference_picks_sms(company, appointment, django_capture_on_commit_callbacks):
    patient = appointment.patient
    patient.notification_channel = "sms"
    patient.save()
    notification = send(patient, appointment, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert (notification.channel, notification.status) == ("sms", NotificationStatus.SENT)
    (sms,) = backends.outbox
    assert sms.to == patient.phone
    assert mail.outbox == []


@pytest.mark.django_db
def test_no_email_falls_back_to_the_patients_phone(company, django_capture_on_commit_callbacks):
    patient = PatientFactory(company=company, email="")
    appointment = AppointmentFactory(company=company, patient=patient)
    notification = send(patient, appointment, django_capture_on_commit_callbacks)
    assert notification.channel == "sms"
    assert [sms.to for sms in backends.outbox] == [patient.phone]


@pytest.mark.django_db
def test_an_opted_out_patient_gets_nothing(
    company, appointment, django_capture_on_commit_callbacks
):
    patient = appointment.patient
    patient.notifications_opt_out = True
    patient.save()
    notification = send(patient, appointment, django_capture_on_commit_callbacks)
    assert notification.status == NotificationStatus.SKIPPED
    assert (notification.recipient, notification.body) == ("", "")
    assert mail.outbox == []
    assert backends.outbox == []


@pytest.mark.django_db
@override_settings(
    SMS_BACKEND="tests.core.test_notifications.FailingSMSBackend", NOTIFICATION_MAX_ATTEMPTS=3
)
def test_a_failing_send_is_retried_then_recorded_as_failed(
    appointment, django_capture_on_commit_callbacks
):
    patient = appointment.patient
    patient.notification_channel = "sms"
    patient.save()
    notification = send(patient, appointment, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert FailingSMSBackend.calls == 3
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 3)
    # The failure's kind only: not the gateway's message, which quoted the address.
    assert notification.last_error == "ConnectionError"
    assert patient.phone not in notification.last_error
    assert notification.body == ""


@pytest.mark.django_db
@override_settings(SMS_BACKEND="tests.core.test_notifications.FlakySMSBackend")
def test_a_send_that_fails_once_is_sent_on_the_retry(
    appointment, django_capture_on_commit_callbacks
):
    patient = appointment.patient
    patient.notification_channel = "sms"
    patient.save()
    notification = send(patient, appointment, django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 2)
    assert notification.last_error == "TimeoutError"
    assert len(backends.outbox) == 1


@override_settings(NOTIFICATION_RETRY_BASE_SECONDS=60, NOTIFICATION_RETRY_MAX_SECONDS=3600)
def test_retries_back_off_exponentially_up_to_the_max():
    assert [backoff(n) for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.django_db
def test_a_rolled_back_booking_sends_nothing(company, appointment):
    from django.db import transaction

    def book_then_fail():
        with transaction.atomic():
            notify_patient(appointment.patient, TEMPLATE, {"appointment": appointment})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        book_then_fail()
    assert not Notification.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_booking_an_appointment_sends_the_confirmation(
    company, location, django_capture_on_commit_callbacks
):
    patient = PatientFactory(company=company)
    provider = ProviderFactory(company=company)
    starts = timezone.now() + datetime.timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = clinical_services.book_appointment(
            Appointment(
                company=company,
                patient=patient,
                provider=provider,
                location=location,
                kind="fitting",
                starts_at=starts,
                ends_at=starts + datetime.timedelta(minutes=30),
            )
        )
    notification = Notification.objects.get(template="clinical.appointment_confirmation")
    assert notification.related_id == str(appointment.pk)
    assert notification.status == NotificationStatus.SENT
    (message,) = mail.outbox
    assert message.to == [patient.email]


@pytest.mark.django_db
def test_the_reminder_goes_once_24_hours_ahead(company, django_capture_on_commit_callbacks):
    now = timezone.now()
    tomorrow = AppointmentFactory(
        company=company,
        starts_at=now + datetime.timedelta(hours=24),
        ends_at=now + datetime.timedelta(hours=24, minutes=30),
    )
    AppointmentFactory(
        company=company,
        starts_at=now + datetime.timedelta(hours=30),
        ends_at=now + datetime.timedelta(hours=30, minutes=30),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert clinical_services.send_appointment_reminders(now) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert clinical_services.send_appointment_reminders(now) == 0
    (notification,) = Notification.objects.filter(template="clinical.appointment_reminder")
    assert notification.related_id == str(tomorrow.pk)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_reminder_task_runs_the_service(company):
    from clinical.tasks import send_appointment_reminders

    assert send_appointment_reminders.delay().get() == 0


@pytest.mark.django_db
def test_the_reminder_and_resupply_schedules_exist():
    from django_celery_beat.models import PeriodicTask

    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"clinical.tasks.send_appointment_reminders", "resupply.tasks.refresh_worklist"} <= tasks


@pytest.mark.django_db
def test_scheduling_a_delivery_notifies_the_patient(company, django_capture_on_commit_callbacks):
    from dme import services as dme_services
    from tests.dme.factories import OrderFactory, OrderLineFactory

    order = OrderFactory(company=company, status="confirmed")
    OrderLineFactory(company=company, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = dme_services.schedule_delivery(order, scheduled_date=timezone.localdate())
    notification = Notification.objects.get(template="dme.delivery_scheduled")
    assert (notification.related_id, notification.patient_id) == (
        str(delivery.pk),
        order.patient_id,
    )
    (message,) = mail.outbox
    assert message.to == [order.patient.email]
    assert order.number in message.body


@pytest.mark.django_db
def test_a_signing_request_is_a_recorded_notification(company, django_capture_on_commit_callbacks):
    from documents.services import send_signing_request
    from tests.dme.factories import OrderFactory, OrderLineFactory

    order = OrderFactory(company=company, prescriber_signed_on=None)
    OrderLineFactory(company=company, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        signing, _token = send_signing_request(order, email="dr.brook@clinic.test")
    notification = Notification.objects.get(template="documents.signing_request")
    assert notification.status == NotificationStatus.SENT
    assert notification.related_id == str(signing.pk)
    # The link (its token) is not kept: the body is erased once sent.
    assert notification.body == ""
    (message,) = mail.outbox
    assert message.to == ["dr.brook@clinic.test"]


@pytest.mark.django_db
def test_the_admin_lists_only_the_companys_notifications(
    client,
    company,
    other_company,
    personas,
    outsider,
    appointment,
    django_capture_on_commit_callbacks,
):
    from django.urls import reverse

    ours = send(appointment.patient, appointment, django_capture_on_commit_callbacks)
    client.force_login(personas["auditor"])
    page = client.get(reverse("admin:core_notification_changelist"))
    assert page.status_code == 200
    assert str(ours.pk) in page.content.decode()
    change = reverse("admin:core_notification_change", args=[ours.pk])
    assert client.get(change).status_code == 200
    client.force_login(outsider)
    assert client.get(change).status_code in (302, 404)
    listing = client.get(reverse("admin:core_notification_changelist"))
    assert str(ours.pk) not in listing.content.decode()


@pytest.mark.django_db
@override_settings(SMS_BACKEND="tests.core.test_notifications.FailingSMSBackend")
def test_on_a_worker_a_failure_is_retried_by_celery_with_backoff(appointment, monkeypatch):
    from unittest import mock

    from core.notifications.tasks import send_notification

    patient = appointment.patient
    patient.notification_channel = "sms"
    patient.save()
    notification = notify_patient(patient, TEMPLATE, {"appointment": appointment})
    retry = mock.Mock(side_effect=RuntimeError("retry scheduled"))
    monkeypatch.setattr(send_notification, "retry", retry)
    send_notification.push_request(retries=2, is_eager=False)
    try:
        with pytest.raises(RuntimeError):
            send_notification.run(str(notification.pk))
    finally:
        send_notification.pop_request()
    assert retry.call_args.kwargs["countdown"] == backoff(2)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.QUEUED, 1)
