"""The dashboards' stored figures: one snapshot per company of the aggregates that
would cost too much to compute on each view (the administrator's and auditor's key
figures, the possible duplicate patients, delivered orders not billed yet, pickups due).

Why stored: at 100,000 patients each aggregate scans weeks of claims or every patient
(30-60 ms each, docs/benchmarks.md "The cockpit"); the dashboard reads one row instead.
Refreshed by ``cockpit.services.refresh_snapshot`` from the beat task
``cockpit.tasks.refresh_dashboard_snapshots`` (every 15 minutes) and
``manage.py refresh_dashboards``; a company without one gets it computed on its first
view. The queues a clerk works from stay live (``cockpit.dashboards``).

No PHI: counts, sums, rates, month labels and denial reason codes only (no names,
dates of birth or record ids), so the row needs no encryption and no access log.
"""

from typing import Any, ClassVar

from django.db import models

from core.models import TenantModel, TenantQuerySet


class DashboardSnapshot(TenantModel):
    """A company's dashboard figures as computed at ``computed_at``."""

    computed_at = models.DateTimeField("computed at")
    figures = models.JSONField(
        "figures", default=dict, help_text="Counts, sums, rates and reason codes; no PHI."
    )
    took_ms = models.PositiveIntegerField("computing time (ms)", default=0)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = "dashboard snapshot"
        verbose_name_plural = "dashboard snapshots"
        constraints = [
            # One per company: the dashboard reads it by company (this index).
            models.UniqueConstraint(fields=["company"], name="dashboardsnapshot_one_per_company"),
        ]

    def __str__(self) -> str:
        return f"Dashboard figures as of {self.computed_at:%Y-%m-%d %H:%M}"
