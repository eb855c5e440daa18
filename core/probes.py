"""Cross-tenant probing: repeated 404s on ids of records that exist in another company.

Answering 404 hides the record (no existence leak); counting such answers per user
catches someone walking another company's ids (45 CFR 164.308(a)(1)(ii)(D),
information system activity review). Cheap: it runs only on a 404 of a record page
(API retrieve, admin change page), costs one indexed EXISTS and a cache increment,
and the cache key holds the user's id only (no PHI, no record id).
"""

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from .choices import ComplianceKind
from .compliance import record_event
from .tenancy import get_active_company_id

if TYPE_CHECKING:
    from django.db import models
    from django.http import HttpRequest

    from .models import ComplianceEvent


def _counter_key(user: Any) -> str:
    return f"cross-tenant-probe:{user.pk}"


def note_not_found(
    request: "HttpRequest", model: "type[models.Model]", object_id: object
) -> "ComplianceEvent | None":
    """Count a 404 on ``model`` id ``object_id`` when the record exists in another
    company; the ``CROSS_TENANT_PROBE_THRESHOLD``-th within the window records one
    CROSS_TENANT_PROBE event and starts the count again."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_superuser:
        return None
    if not any(field.name == "company" for field in model._meta.concrete_fields):
        return None
    try:
        pk = uuid.UUID(str(object_id))
    except ValueError:
        return None
    company_id = get_active_company_id(user)
    others = model._default_manager.filter(pk=pk)
    if company_id is not None:
        others = others.exclude(company_id=company_id)
    from . import rls

    # Whether the id exists in another company, nothing more: the one deliberate
    # cross-company read of a request (row-level security bypass, docs/security/rls.md).
    with rls.operator():
        exists_elsewhere = others.exists()
    if not exists_elsewhere:
        return None
    key = _counter_key(user)
    window = settings.CROSS_TENANT_PROBE_WINDOW
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:
        # The counter expired between add and incr: this 404 starts a new window.
        cache.set(key, 1, timeout=window)
        count = 1
    if count < settings.CROSS_TENANT_PROBE_THRESHOLD:
        return None
    cache.delete(key)
    return record_event(
        ComplianceKind.CROSS_TENANT_PROBE,
        company=company_id,
        request=request,
        detail={"not_found": count, "model": model._meta.label, "window_seconds": window},
    )
