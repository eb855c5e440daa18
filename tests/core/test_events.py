"""The outbox: one schema, a sequence per aggregate, and per family an event that
commits or rolls back with its change (docs/events.md)."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from clinical import services as clinical
from clinical.choices import AppointmentStatus
from clinical.models import Appointment, Patient
from core.events import EventDataError, emit
from core.events.types import EVENT_TYPES, FAMILIES
from core.models import AggregateSequence, OutboxEvent
from dme import services as dme
from dme.choices import LineKind, OrderStatus, SignerRelationship
from hme import services as hme
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.dme.factories import (
    CPAPFactory,
    EquipmentFactory,
    RentalFactory,
    order_with_lines,
    proof_items,
    stock,
)
from tests.hme.factories import ClaimFactory, PaymentFactory

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def types():
    return list(OutboxEvent.objects.order_by("id").values_list("event_type", flat=True))


def rolled_back(change):
    """Run ``change`` in a transaction that fails after it: nothing may stay."""

    def fail():
        with transaction.atomic():
            change()
            raise Boom

    with pytest.raises(Boom):
        fail()


# Schema ------------------------------------------------------------------------------


def test_it_writes_one_envelope_with_metadata(company, personas):
    patient = PatientFactory(company=company)
    with transaction.atomic():
        event = emit("patient.updated", patient, {"fields": ["phone"]}, company=company)
    body = event.envelope()
    assert set(body) == {"id", "type", "version", "source", "time", "company", "aggregate"} | {
        "data",
        "metadata",
    }
    assert uuid.UUID(body["id"]) == event.event_id
    assert body["type"] == "patient.updated"
    assert body["source"] == "ariesone/clinical"
    assert body["aggregate"] == {"type": "patient", "id": str(patient.pk), "sequence": 1}
    assert body["company"] == str(company.pk)
    assert set(body["metadata"]) == {"correlation_id", "user_id", "ip", "user_agent"}


def test_each_aggregate_numbers_its_events(company):
    first, second = PatientFactory(company=company), PatientFactory(company=company)
    for patient in (first, second, first, first):
        emit("patient.updated", patient, {}, company=company)
    sequences = OutboxEvent.objects.filter(aggregate_id=str(first.pk)).order_by("id")
    assert list(sequences.values_list("sequence", flat=True)) == [1, 2, 3]
    assert AggregateSequence.objects.get(aggregate_id=str(second.pk)).last_sequence == 1


def test_it_refuses_unknown_types_and_free_text(company):
    patient = PatientFactory(company=company)
    with pytest.raises(ValueError, match="Unknown event type"):
        emit("patient.exploded", patient, {}, company=company)
    with pytest.raises(EventDataError, match="longer than"):
        emit("patient.updated", patient, {"note": "x" * 65}, company=company)
    assert not OutboxEvent.objects.exists()


def test_every_type_belongs_to_a_seed_family():
    assert set(EVENT_TYPES.values()) <= set(FAMILIES)


def test_the_request_metadata_follows_the_request(client, admin_user, company):
    client.force_login(admin_user)
    patient = PatientFactory(company=company)
    response = client.get(
        f"/admin/clinical/patient/{patient.pk}/change/",
        HTTP_X_REQUEST_ID="trace-123",
        HTTP_USER_AGENT="pytest-agent",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "trace-123"
    event = OutboxEvent.objects.get(event_type="phi.accessed")
    assert event.metadata == {
        "correlation_id": "trace-123",
        "user_id": str(admin_user.pk),
        "ip": "127.0.0.1",
        "user_agent": "pytest-agent",
    }


def test_a_malformed_request_id_is_replaced(client):
    response = client.get("/health/", HTTP_X_REQUEST_ID="<script>")
    assert uuid.UUID(response["X-Request-ID"])
    assert client.get("/health/")["X-Request-ID"] != response["X-Request-ID"]


# One test per family: the change and its event commit or roll back together. --------


def test_patient_events(company, location):
    patient = PatientFactory.build(company=company, home_location=location)
    rolled_back(lambda: clinical.register_patient(patient))
    assert not Patient.objects.exists()
    assert not OutboxEvent.objects.exists()
    patient = clinical.register_patient(PatientFactory.build(company=company))
    patient.city = "Dayton"
    clinical.update_patient(patient, ["city"])
    assert types() == ["patient.created", "patient.updated"]
    updated = OutboxEvent.objects.get(event_type="patient.updated")
    assert updated.data == {"fields": ["city"]}
    assert updated.sequence == 2


def test_appointment_events(company, location):
    patient = PatientFactory(company=company)
    provider = ProviderFactory(company=company)
    start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)

    def book():
        return clinical.book_appointment(
            Appointment(
                company=company,
                patient=patient,
                provider=provider,
                location=location,
                starts_at=start,
                ends_at=start + datetime.timedelta(hours=1),
            )
        )

    rolled_back(book)
    assert not Appointment.objects.exists()
    assert not OutboxEvent.objects.exists()
    appointment = book()
    clinical.update_appointment(appointment, ends_at=start + datetime.timedelta(minutes=30))
    clinical.cancel_appointment(appointment)
    assert types() == ["appointment.booked", "appointment.changed", "appointment.cancelled"]
    cancelled = OutboxEvent.objects.get(event_type="appointment.cancelled")
    assert cancelled.data["status"] == AppointmentStatus.CANCELLED
    assert cancelled.data["patient_id"] == str(patient.pk)


def test_order_and_delivery_events(company, location):
    cpap = CPAPFactory(company=company, is_serialized=False)
    stock(cpap, location, 5)
    order = order_with_lines(company, location, (cpap, 1, LineKind.PURCHASE))
    rolled_back(lambda: dme.confirm_order(order))
    assert not OutboxEvent.objects.exists()
    dme.confirm_order(order)
    delivery = dme.schedule_delivery(order, scheduled_date=timezone.localdate())
    order.refresh_from_db()
    dme.complete_delivery(
        delivery,
        delivered_on=timezone.localdate(),
        items=proof_items(order),
        signer_name="Sam Lee",
        signer_relationship=SignerRelationship.SPOUSE,
    )
    assert types() == ["order.confirmed", "delivery.completed"]
    event = OutboxEvent.objects.get(event_type="delivery.completed")
    assert event.data["order_id"] == str(order.pk)


def test_order_verification_and_cancellation(company, location):
    mask = EquipmentFactory(company=company, hcpcs_code="A7030")
    order = order_with_lines(
        company, location, (mask, 1, LineKind.PURCHASE), status=OrderStatus.RECEIVED
    )
    dme.verify_order(order)
    dme.cancel_order(order, reason="Duplicate")
    assert types() == ["order.verified", "order.cancelled"]


def test_rental_events(company):
    rental = RentalFactory(company=company, cap_months=2)
    rolled_back(lambda: dme.record_billed_month(rental))
    assert not OutboxEvent.objects.exists()
    dme.record_billed_month(rental)
    dme.record_billed_month(rental)
    # The month that reaches the cap is billed, then the rental is capped.
    assert types() == ["rental.billed", "rental.billed", "rental.capped"]
    assert OutboxEvent.objects.filter(aggregate_id=str(rental.pk)).count() == 3


def test_claim_and_payment_events(company):
    claim = ClaimFactory(company=company)
    rolled_back(lambda: hme.submit_claim(claim))
    assert not OutboxEvent.objects.exists()
    hme.submit_claim(claim)
    hme.mark_processing(claim)
    hme.approve_claim(claim, allowed=claim.total_charge)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=claim.total_charge)
    hme.post_payment(payment, [{"claim": claim, "amount": claim.total_charge}])
    assert types() == ["claim.submitted", "payment.posted", "claim.paid"]
    posted = OutboxEvent.objects.get(event_type="payment.posted")
    assert posted.data["claim_ids"] == [str(claim.pk)]
    assert Decimal(posted.data["amount"]) == claim.total_charge


def test_claim_denied_event(company):
    claim = ClaimFactory(company=company)
    hme.submit_claim(claim)
    hme.mark_processing(claim)
    hme.deny_claim(claim, "CO", "50")
    denied = OutboxEvent.objects.get(event_type="claim.denied")
    assert (denied.data["denial_group"], denied.data["denial_code"]) == ("CO", "50")


def test_audit_event_one_per_request(company, admin_user, api_client_for):
    PatientFactory.create_batch(3, company=company)
    response = api_client_for(admin_user).get("/api/v1/patients/")
    assert response.status_code == 200
    event = OutboxEvent.objects.get(event_type="phi.accessed")
    assert event.data["count"] == 3
    assert len(event.data["records"]["patient"]) == 3
    assert event.data["via"] == "api"


def test_access_event_rolls_back_with_the_access_log(company, admin_user, rf):
    from core.access import record_access
    from core.models import AccessLog

    patient = PatientFactory(company=company)
    request = rf.get("/")
    request.user = admin_user
    rolled_back(lambda: record_access(request, [patient], via="admin", action="view"))
    assert not AccessLog.objects.exists()
    assert not OutboxEvent.objects.exists()
