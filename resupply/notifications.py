"""Resupply's notification template (core.notifications): the outreach message sent
when a patient's request enters the contact window (``services.refresh_company``)."""

from core.notifications import NotificationTemplate, register_template

RESUPPLY_OUTREACH = "resupply.outreach"


def register_templates() -> None:
    register_template(
        NotificationTemplate(
            RESUPPLY_OUTREACH,
            "notifications/resupply_outreach",
            "The patient's supplies are due: asks them to confirm what they need.",
        )
    )
