"""Data-quality checks of the accounts and operations records."""

from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.models import Company, Membership
from core.models import Backup, IdempotencyKey
from core.quality import Outcome, Severity, register
from core.validators import validate_npi


@register(
    "accounts.membership_location_company",
    severity=Severity.ERROR,
    model=Membership,
    description="Memberships that name a location of another company.",
)
def membership_location_company():
    return (
        Membership.objects.filter(locations__isnull=False)
        .exclude(locations__company=F("company"))
        .distinct()
    )


@register(
    "accounts.company_npi",
    severity=Severity.ERROR,
    model=Company,
    description="Companies whose organisation NPI fails the format or check digit.",
)
def company_npi():
    # Companies are few: the Luhn check runs in Python over the non-blank NPIs only.
    bad = []
    for pk, npi in Company.objects.exclude(npi="").values_list("pk", "npi").iterator():
        try:
            validate_npi(npi)
        except Exception:
            bad.append(pk)
    return Outcome(count=len(bad), sample_ids=bad)


@register(
    "core.backup_freshness",
    severity=Severity.WARNING,
    model=Backup,
    description="The newest successful backup is more than 26 hours old (or there is none).",
)
def backup_freshness():
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
def idempotency_keys_pruned():
    cutoff = timezone.now() - timedelta(hours=2 * settings.IDEMPOTENCY_KEY_TTL_HOURS)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff)
