"""The compliance log: one call records a security or compliance event.

Every kind has one HIPAA Security Rule category (45 CFR 164.312) and a default severity,
so that callers say only what happened. ``detail`` must hold ids, codes and counts only:
never PHI, never a record's text.
"""

import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest

from .choices import ComplianceKind as Kind
from .choices import ComplianceSeverity as Severity
from .choices import HipaaCategory as Category
from .context import client_ip, get_actor

if TYPE_CHECKING:
    from .models import ComplianceEvent

KINDS = {
    Kind.SIGN_IN_FAILED: (Category.AUTHENTICATION, Severity.INFO),
    Kind.LOCKOUT: (Category.AUTHENTICATION, Severity.WARNING),
    Kind.LOCKOUT_CLEARED: (Category.AUTHENTICATION, Severity.INFO),
    Kind.MFA_ENROLLED: (Category.AUTHENTICATION, Severity.INFO),
    Kind.MFA_RESET: (Category.AUTHENTICATION, Severity.WARNING),
    Kind.PASSWORD_CHANGED: (Category.AUTHENTICATION, Severity.INFO),
    Kind.PASSWORD_RESET: (Category.AUTHENTICATION, Severity.WARNING),
    Kind.SESSION_REVOKED: (Category.AUTHENTICATION, Severity.INFO),
    Kind.MEMBERSHIP_CHANGED: (Category.ACCESS_CONTROL, Severity.INFO),
    Kind.ROLE_CHANGED: (Category.ACCESS_CONTROL, Severity.WARNING),
    Kind.EMERGENCY_ACCESS: (Category.ACCESS_CONTROL, Severity.CRITICAL),
    Kind.CROSS_TENANT_PROBE: (Category.ACCESS_CONTROL, Severity.CRITICAL),
    Kind.PHI_EXPORT: (Category.AUDIT, Severity.WARNING),
    Kind.PURGE: (Category.INTEGRITY, Severity.WARNING),
    Kind.KEY_ROTATION: (Category.INTEGRITY, Severity.INFO),
    Kind.BACKUP_FAILED: (Category.INTEGRITY, Severity.CRITICAL),
    Kind.BACKUP_VERIFIED: (Category.INTEGRITY, Severity.INFO),
    Kind.ACCESS_LOG_TAMPERED: (Category.AUDIT, Severity.CRITICAL),
}


def record_event(
    kind: str,
    *,
    company: Any = None,
    actor: Any = None,
    request: HttpRequest | None = None,
    target: models.Model | None = None,
    detail: dict[str, Any] | None = None,
    severity: str | None = None,
) -> "ComplianceEvent":
    """Write one compliance event and return it.

    ``actor`` defaults to the request's user, else the acting user of a command or job
    (``core.context``); ``company`` may be a Company or its id; ``target`` is any model
    instance the event is about (only its type and id are kept).
    """
    from .models import ComplianceEvent

    kind = Kind(kind)
    category, default_severity = KINDS[kind]
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is None:
        actor = get_actor()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    company_id = getattr(company, "pk", company)
    from . import rls

    # The compliance log is the platform's own record: a lockout is written for every
    # company of the account, during an anonymous sign-in (row-level security bypass,
    # docs/security/rls.md).
    with rls.operator():
        event: ComplianceEvent = ComplianceEvent.objects.create(
            kind=kind,
            category=category,
            severity=Severity(severity or default_severity),
            company_id=company_id,
            actor=actor,
            actor_email=actor.email if actor is not None else "",
            target_type=ContentType.objects.get_for_model(target) if target is not None else None,
            target_id=str(target.pk) if target is not None else "",
            ip_address=client_ip(request) if request is not None else None,
            detail=detail or {},
        )
    return event


def purge_expired_events(*, now: datetime.datetime | None = None, batch_size: int = 5000) -> int:
    """Delete compliance events past ``COMPLIANCE_RETENTION_DAYS`` (6 years by default:
    HIPAA documentation is kept 6 years, 45 CFR 164.316(b)(2)(i)), in batches, and
    record one PURGE event with the count. Returns the count."""
    from django.conf import settings
    from django.utils import timezone

    from .models import ComplianceEvent

    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.COMPLIANCE_RETENTION_DAYS)
    expired = ComplianceEvent.objects.filter(timestamp__lt=cutoff)
    purged = 0
    while True:
        ids = list(expired.order_by("timestamp", "id").values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        purged += ComplianceEvent.objects.filter(id__in=ids).delete()[0]
    if purged:
        record_event(
            Kind.PURGE,
            detail={"table": "compliance events", "purged": purged, "before": cutoff.isoformat()},
        )
    return purged
