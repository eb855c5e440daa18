"""Every event type the services emit, with its family (the Kafka topic).

The seed families are patient-, appointment-, document-, audit-, notification- and
ai-events. Orders, deliveries, rentals, claims and payments have no family of their
own in the seeds; they are records of a patient's equipment and its billing, so they
travel on ``patient-events``, keyed by their own aggregate id (each record's events
stay in order on one partition). docs/events.md lists them.
"""

PATIENT, APPOINTMENT, DOCUMENT, AUDIT, NOTIFICATION, AI = (
    "patient-events",
    "appointment-events",
    "document-events",
    "audit-events",
    "notification-events",
    "ai-events",
)
FAMILIES = (PATIENT, APPOINTMENT, DOCUMENT, AUDIT, NOTIFICATION, AI)

EVENT_TYPES: dict[str, str] = {
    "patient.created": PATIENT,
    "patient.updated": PATIENT,
    "appointment.booked": APPOINTMENT,
    "appointment.changed": APPOINTMENT,
    "appointment.cancelled": APPOINTMENT,
    "order.verified": PATIENT,
    "order.confirmed": PATIENT,
    "order.cancelled": PATIENT,
    "delivery.completed": PATIENT,
    "rental.billed": PATIENT,
    "rental.capped": PATIENT,
    "claim.submitted": PATIENT,
    "claim.denied": PATIENT,
    "claim.paid": PATIENT,
    "payment.posted": PATIENT,
    # Emitted by documents.services.documents.add_document (every upload, fax, e-signature).
    "document.received": DOCUMENT,
    # One per request that showed PHI (core.access.record_access).
    "phi.accessed": AUDIT,
}


def family(event_type: str) -> str:
    return EVENT_TYPES[event_type]
