"""Data-quality checks of the operations records (backups, idempotency keys, access log)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core.models import AccessLog, Backup, IdempotencyKey
from core.quality import Outcome, Severity, register
from core.quality.checks import DAILY_FRESHNESS, stale


@register(
    "core.backup_freshness",
    severity=Severity.WARNING,
    model=Backup,
    description="The newest successful backup is more than 26 hours old (or there is none).",
)
def backup_freshness() -> Outcome:
    newest = Backup.objects.filter(status="succeeded").order_by("-started_at").first()
    if newest is None:
        return Outcome(count=1, detail="No successful backup yet.")
    age = timezone.now() - newest.started_at
    if age > timedelta(hours=26):
        return Outcome(
            count=1,
            sample_ids=[newest.pk],
            detail=f"Newest is {age.total_seconds() / 3600:.0f} h old.",
        )
    return Outcome(count=0, detail=f"Newest is {age.total_seconds() / 3600:.1f} h old.")


@register(
    "core.idempotency_keys_pruned",
    severity=Severity.WARNING,
    model=IdempotencyKey,
    description="Stored Idempotency-Key responses kept twice past their time to live "
    "(the pruning task is not running).",
)
def idempotency_keys_pruned() -> QuerySet[IdempotencyKey]:
    cutoff = timezone.now() - timedelta(hours=2 * settings.IDEMPOTENCY_KEY_TTL_HOURS)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff)


@register(
    "core.access_log_freshness",
    severity=Severity.WARNING,
    model=AccessLog,
    description="No patient record was looked at for more than 96 hours: either nobody "
    "works, or the access log (HIPAA) stopped being written.",
)
def access_log_freshness() -> Outcome:
    # The newest row through the (timestamp, id) index: one index probe.
    return stale(AccessLog, DAILY_FRESHNESS, field="timestamp", what="access log entries")
