"""Notifications: e-mail and SMS to patients (and prescribers), sent by Celery with
retries, one :class:`~core.notifications.models.Notification` row per send
(docs/notifications.md).

Each app registers its templates from its own floor (clinical: appointments; dme:
deliveries; documents: signing requests; resupply: outreach) and calls::

    from core.notifications import notify_patient
    notify_patient(patient, "clinical.appointment_confirmation", {"appointment": appt},
                   related=appt)

The patient's channel preference and opt-out (fields on ``clinical.Patient``:
``notification_channel``, ``notifications_opt_out``) choose the channel; the message
goes only to the patient's own e-mail address or phone on file. Inside a transaction
the send waits for the commit (a rolled-back booking sends nothing).

Subjects never hold PHI (no name, date of birth, member id or diagnosis): e-mail
subjects are seen on lock screens and in mail-server logs. :func:`render` refuses a
subject that carries the patient's name or date of birth, and
``tests/core/test_notifications_phi.py`` renders every registered subject with a
patient.
"""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.template.loader import render_to_string

from .choices import Channel, NotificationStatus

if TYPE_CHECKING:
    from .models import Notification

__all__ = [
    "Channel",
    "NotificationStatus",
    "NotificationTemplate",
    "SubjectPHIError",
    "notify_address",
    "notify_patient",
    "register_template",
    "registered_templates",
]

logger = logging.getLogger(__name__)


class SubjectPHIError(ValueError):
    """A rendered subject carries the patient's name or date of birth."""


@dataclass(frozen=True)
class NotificationTemplate:
    """A message kind: Django templates for the subject, the e-mail body and the SMS.

    ``folder`` holds ``subject.txt``, ``email.txt`` and ``sms.txt`` (``templates/``
    of the registering app: ``notifications/<name>/``).
    """

    key: str
    folder: str
    description: str

    def template_name(self, part: str) -> str:
        return f"{self.folder}/{part}.txt"


_TEMPLATES: dict[str, NotificationTemplate] = {}


def register_template(template: NotificationTemplate) -> NotificationTemplate:
    """Add a template (idempotent: the same key twice keeps the latest)."""
    _TEMPLATES[template.key] = template
    return template


def registered_templates() -> list[NotificationTemplate]:
    return sorted(_TEMPLATES.values(), key=lambda template: template.key)


def get_template(key: str) -> NotificationTemplate:
    try:
        return _TEMPLATES[key]
    except KeyError:
        raise ValueError(f"Unknown notification template {key!r}.") from None


def _phi_markers(patient: Any) -> list[str]:
    markers = [getattr(patient, "first_name", ""), getattr(patient, "last_name", "")]
    dob = getattr(patient, "dob", None)
    if dob:
        markers += [dob.isoformat(), f"{dob:%m/%d/%Y}", f"{dob.month}/{dob.day}/{dob.year}"]
    return [marker.strip().lower() for marker in markers if marker and len(marker.strip()) > 1]


def render_subject(template: NotificationTemplate, context: Mapping[str, Any]) -> str:
    subject = " ".join(render_to_string(template.template_name("subject"), dict(context)).split())
    patient = context.get("patient")
    if patient is not None:
        lowered = subject.lower()
        for marker in _phi_markers(patient):
            if re.search(rf"(?<!\w){re.escape(marker)}(?!\w)", lowered):
                raise SubjectPHIError(
                    f"The subject of notification template {template.key} carries patient "
                    "details; subjects must not hold PHI."
                )
    return subject[:200]


def render(
    template_key: str, channel: str, context: Mapping[str, Any]
) -> tuple[NotificationTemplate, str, str]:
    """(template, subject, body) of ``template_key`` for ``channel``."""
    template = get_template(template_key)
    subject = render_subject(template, context)
    part = "sms" if channel == Channel.SMS else "email"
    body = render_to_string(template.template_name(part), dict(context)).strip()
    return template, subject, body


def _related(related: Any) -> tuple[str, str]:
    if related is None:
        return "", ""
    if isinstance(related, tuple):
        return str(related[0]), str(related[1])
    return related._meta.label_lower, str(related.pk)


def _patient_contact(patient: Any) -> tuple[str, str]:
    """(channel, address) by the patient's preference, falling back to the other
    channel of the patient's own contacts; ("", "") when there is none."""
    email = (getattr(patient, "email", "") or "").strip()
    phone = (getattr(patient, "phone", "") or "").strip()
    preferred = getattr(patient, "notification_channel", "") or Channel.EMAIL
    order = (
        [Channel.SMS, Channel.EMAIL] if preferred == Channel.SMS else [Channel.EMAIL, Channel.SMS]
    )
    for channel in order:
        address = email if channel == Channel.EMAIL else phone
        if address:
            return channel, address
    return "", ""


def _queue(notification: "Notification") -> None:
    from .tasks import send_notification

    def send() -> None:
        try:
            send_notification.delay(str(notification.pk))
        except Exception:  # the broker is down: the row stays queued, the sweep resends
            logger.exception("notification %s could not be queued", notification.pk)

    transaction.on_commit(send)


def _create(
    *,
    company: Any,
    channel: str,
    template_key: str,
    context: Mapping[str, Any],
    recipient: str,
    patient_id: Any,
    related: Any,
    skip_reason: str = "",
) -> "Notification":
    from .models import Notification

    related_type, related_id = _related(related)
    subject = body = ""
    if not skip_reason:
        _template, subject, body = render(template_key, channel, context)
    else:
        get_template(template_key)
    notification = Notification.objects.create(
        company_id=getattr(company, "pk", company),
        channel=channel or Channel.EMAIL,
        template=template_key,
        patient_id=patient_id,
        related_type=related_type,
        related_id=related_id,
        recipient=recipient if not skip_reason else "",
        subject=subject,
        body=body,
        status=NotificationStatus.SKIPPED if skip_reason else NotificationStatus.QUEUED,
        last_error=skip_reason,
    )
    if not skip_reason:
        _queue(notification)
    return notification


def notify_patient(
    patient: Any,
    template_key: str,
    context: Mapping[str, Any] | None = None,
    *,
    related: Any = None,
) -> "Notification":
    """Send ``template_key`` to the patient by their preferred channel (after the
    commit, by Celery). Opted out or no contact on file: recorded as not sent."""
    context = {"patient": patient, "company": patient.company, **(context or {})}
    skip = ""
    channel, address = _patient_contact(patient)
    if getattr(patient, "notifications_opt_out", False):
        skip = "The patient opted out of notifications."
    elif not address:
        skip = "No e-mail address or phone number on file."
    return _create(
        company=patient.company_id,
        channel=channel,
        template_key=template_key,
        context=context,
        recipient=address,
        patient_id=patient.pk,
        related=related,
        skip_reason=skip,
    )


def notify_address(
    *,
    company: Any,
    channel: str,
    to: str,
    template_key: str,
    context: Mapping[str, Any] | None = None,
    patient_id: Any = None,
    related: Any = None,
) -> "Notification":
    """Send ``template_key`` to an address that is not a patient's (a prescriber's
    e-mail for a signing request)."""
    return _create(
        company=company,
        channel=Channel(channel),
        template_key=template_key,
        context=dict(context or {}),
        recipient=to,
        patient_id=patient_id,
        related=related,
    )


def already_sent(template_key: str, related: Any) -> bool:
    """Whether a notification of ``template_key`` about ``related`` was queued or sent."""
    from .models import Notification

    related_type, related_id = _related(related)
    return (
        Notification.objects.filter(
            template=template_key, related_type=related_type, related_id=related_id
        )
        .exclude(status=NotificationStatus.SKIPPED)
        .exists()
    )
