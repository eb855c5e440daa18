"""Celery tasks of clinical: thin wrappers around ``clinical.services``."""

from celery import shared_task

from core.locks import cache_lock


@shared_task(name="clinical.tasks.send_appointment_reminders")
def send_appointment_reminders() -> int | None:
    """Queue the 24-hour reminders (hourly; beat entry "Send appointment reminders
    (hourly)"). Returns how many (None: another run holds the lock)."""
    from . import services

    with cache_lock("clinical.send_appointment_reminders", 50 * 60) as acquired:
        return services.send_appointment_reminders() if acquired else None
