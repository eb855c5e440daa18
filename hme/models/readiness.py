"""Billing holds: the stored snapshot of the readiness reasons (hme.readiness), one row
per order line and reason, for the "Ready to bill / On hold" worklist.

Why stored: the worklist filters 100,000 patients' open lines by reason and severity;
computing every open line's reasons for each page would cost seconds. The snapshot is
refreshed by ``hme.readiness.holds.refresh_holds`` on the saves that change a reason
(signals, after commit) and daily by the beat task (timely filing moves with the
date). Billing itself never trusts the snapshot: ``assert_billable`` recomputes.
"""

from typing import ClassVar

from django.db import models
from django.db.models import Q

from core.models import TenantModel, TenantQuerySet
from dme.models import OrderLine


class Severity(models.TextChoices):
    """As ``hme.readiness.Severity``: an error holds billing, a warning does not."""

    ERROR = "error", "Error (on hold)"
    WARNING = "warning", "Warning"


class BillingHoldQuerySet(TenantQuerySet):
    def errors(self):
        return self.filter(severity=Severity.ERROR)


class BillingHold(TenantModel):
    """One reason an order line cannot be billed yet (an error holds it; a warning
    does not), with the record and field to fix."""

    order_line = models.ForeignKey(
        "dme.OrderLine", on_delete=models.CASCADE, related_name="billing_holds"
    )
    order = models.ForeignKey("dme.Order", on_delete=models.CASCADE, related_name="billing_holds")
    code = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    message = models.TextField()
    source = models.CharField(max_length=200, blank=True)
    fix_model = models.CharField("record to fix", max_length=64, blank=True)
    fix_pk = models.UUIDField("id of the record to fix", null=True, blank=True)
    fix_field = models.CharField("field to fix", max_length=64, blank=True)
    date_of_service = models.DateField("date of service", null=True, blank=True)
    refreshed_at = models.DateTimeField("refreshed at")

    objects: ClassVar = BillingHoldQuerySet.as_manager()

    access_logged = True
    location_field = "order__location"
    patient_field = "order__patient_id"

    class Meta:
        ordering = ["order", "order_line", "severity", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(code="") & ~Q(message=""),
                name="billinghold_has_reason",
                violation_error_message="A hold needs its reason (code and message).",
            ),
        ]
        indexes = [
            # The worklist filtered by reason / severity within a company.
            models.Index(fields=["company", "code"], name="billinghold_code_idx"),
            models.Index(fields=["company", "severity"], name="billinghold_severity_idx"),
        ]

    def __str__(self):
        return f"{self.code} ({self.get_severity_display().lower()})"


class BillableLine(OrderLine):
    """An order line as the "Ready to bill / On hold" worklist shows it (a proxy:
    the same rows, with the billing holds beside them)."""

    class Meta:
        proxy = True
        verbose_name = "ready to bill / on hold line"
        verbose_name_plural = "ready to bill / on hold"
