"""Celery tasks of core: thin wrappers around services."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.models import IdempotencyKey


@shared_task
def prune_idempotency_keys():
    """Delete stored Idempotency-Key responses past their time to live."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
