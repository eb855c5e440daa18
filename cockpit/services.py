"""Refreshing the dashboards' stored figures (``cockpit.models.DashboardSnapshot``):
the one place the beat task, ``manage.py refresh_dashboards`` and a company's first
dashboard view go through.

Each company is computed inside ``rls.for_company`` (on PostgreSQL with row-level
security its queries see that company's rows only) from querysets scoped with
``for_company``: a refresh of one company never reads or writes another's. A failure
of one company is logged with its id and the error's type (never a message, which may
quote data) and the others go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import rls

from .figures import VERSION, company_figures
from .models import DashboardSnapshot

logger = logging.getLogger(__name__)


@dataclass
class RefreshRun:
    refreshed: int = 0
    failed: list[str] = field(default_factory=list)  # company ids
    took_ms: int = 0

    def summary(self) -> str:
        text = f"Refreshed the dashboard figures of {self.refreshed} company(ies) in "
        text += f"{self.took_ms} ms"
        if self.failed:
            text += f"; {len(self.failed)} failed (see the log)"
        return text + "."


def refresh_snapshot(company: Any) -> DashboardSnapshot:
    """Compute ``company``'s figures now and store them (its one snapshot row)."""
    started = time.perf_counter()
    with rls.for_company(company.pk):
        now = timezone.now()
        figures = company_figures(company, timezone.localdate(now))
        took = round((time.perf_counter() - started) * 1000)
        values = {"computed_at": now, "figures": figures, "took_ms": took}
        try:
            with transaction.atomic():
                snapshot, _ = DashboardSnapshot.objects.update_or_create(
                    company=company, defaults=values
                )
        except IntegrityError:
            # Another worker (or a first view) stored it meanwhile: ours is as fresh.
            DashboardSnapshot.objects.filter(company=company).update(**values)
            snapshot = DashboardSnapshot.objects.get(company=company)
    return snapshot


def refresh_snapshots(companies: Iterable[Any] | None = None) -> RefreshRun:
    """Refresh every active company's snapshot (or ``companies``'), one after the other;
    one company's failure is logged and does not stop the others."""
    from accounts.models import Company

    if companies is None:
        companies = Company.objects.filter(is_active=True).order_by("name")
    run = RefreshRun()
    started = time.perf_counter()
    for company in companies:
        try:
            refresh_snapshot(company)
        except Exception as error:  # logged without PHI; the next run tries again
            logger.warning(
                "dashboard figures: refresh of company %s failed (%s)",
                company.pk,
                type(error).__name__,
            )
            run.failed.append(str(company.pk))
        else:
            run.refreshed += 1
    run.took_ms = round((time.perf_counter() - started) * 1000)
    return run


def current_snapshot(company: Any) -> DashboardSnapshot:
    """``company``'s stored figures; computed and stored now when it has none yet (its
    first dashboard view) or when they were stored in another format (an upgrade)."""
    snapshot = DashboardSnapshot.objects.filter(company=company).first()
    if snapshot is None or snapshot.figures.get("version") != VERSION:
        snapshot = refresh_snapshot(company)
    return snapshot
