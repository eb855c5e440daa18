from django.db import models


class RequestStatus(models.TextChoices):
    """A resupply request's life: open (to contact) -> confirmed -> ordered, or refused;
    closed when a newer delivery made it moot."""

    OPEN = "open", "To contact"
    CONFIRMED = "confirmed", "Confirmed by the patient"
    REFUSED = "refused", "Refused by the patient"
    ORDERED = "ordered", "Ordered"
    CLOSED = "closed", "Closed"


ACTIVE_STATUSES = (RequestStatus.OPEN, RequestStatus.CONFIRMED)


class ContactChannel(models.TextChoices):
    PHONE = "phone", "Phone call"
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    PORTAL = "portal", "Patient portal"
    IN_PERSON = "in_person", "In person"


class ContactOutcome(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed the need"
    REFUSED = "refused", "Refused"
    NO_ANSWER = "no_answer", "No answer"
