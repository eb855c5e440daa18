"""DME's notification template (core.notifications): the delivery is scheduled
(``services.schedule_delivery``)."""

from core.notifications import NotificationTemplate, register_template

DELIVERY_SCHEDULED = "dme.delivery_scheduled"


def register_templates() -> None:
    register_template(
        NotificationTemplate(
            DELIVERY_SCHEDULED,
            "notifications/delivery_scheduled",
            "A delivery was scheduled: the day, the time window, the tracking number.",
        )
    )
