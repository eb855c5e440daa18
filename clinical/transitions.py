"""The allowed status changes of appointments and biometric alerts: one table each,
checked by ``clinical.services`` through ``core.transitions.check_transition``."""

from .choices import AlertStatus, AppointmentStatus

# Allowed status changes. Completed, cancelled and no-show are final: rebooking is a
# new appointment, so the history of what happened stays.
APPOINTMENT_TRANSITIONS = {
    AppointmentStatus.SCHEDULED: {
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    },
    AppointmentStatus.CONFIRMED: {
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    },
    AppointmentStatus.COMPLETED: set(),
    AppointmentStatus.CANCELLED: set(),
    AppointmentStatus.NO_SHOW: set(),
}

# Only these can happen before the appointment starts.
BEFORE_START_ALLOWED = {AppointmentStatus.CONFIRMED, AppointmentStatus.CANCELLED}

ALERT_TRANSITIONS = {
    AlertStatus.OPEN: {AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED},
    AlertStatus.ACKNOWLEDGED: {AlertStatus.RESOLVED},
    AlertStatus.RESOLVED: set(),
}
