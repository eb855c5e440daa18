"""The documents app's notification template (core.notifications): the prescriber's
e-signature request (``services.send_signing_request``)."""

from core.notifications import NotificationTemplate, register_template

SIGNING_REQUEST = "documents.signing_request"


def register_templates() -> None:
    register_template(
        NotificationTemplate(
            SIGNING_REQUEST,
            "notifications/signing_request",
            "A written order was sent to the prescriber for e-signature (the link).",
        )
    )
