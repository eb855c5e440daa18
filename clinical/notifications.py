"""Clinical's notification templates (core.notifications): appointment confirmation
(sent when booked, ``services.save_appointment``) and the 24-hour reminder (the beat
task ``clinical.tasks.send_appointment_reminders``)."""

from core.notifications import NotificationTemplate, register_template

APPOINTMENT_CONFIRMATION = "clinical.appointment_confirmation"
APPOINTMENT_REMINDER = "clinical.appointment_reminder"


def register_templates() -> None:
    register_template(
        NotificationTemplate(
            APPOINTMENT_CONFIRMATION,
            "notifications/appointment_confirmation",
            "An appointment was booked: its day, time and place.",
        )
    )
    register_template(
        NotificationTemplate(
            APPOINTMENT_REMINDER,
            "notifications/appointment_reminder",
            "The day before an appointment (24 hours ahead).",
        )
    )
