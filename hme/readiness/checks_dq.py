"""Data-quality check of the stored holds (registered from ``hme.checks_dq``)."""

from django.db.models import F, Q

from core.quality import Severity, register

from ..models import BillingHold


@register(
    "hme.billing_hold_has_reason",
    severity=Severity.ERROR,
    model=BillingHold,
    description="Billing holds without a reason (empty code or message), or whose order "
    "or company is not their line's.",
)
def billing_hold_has_reason():
    return BillingHold.objects.filter(
        Q(code="")
        | Q(message="")
        | ~Q(order_id=F("order_line__order_id"))
        | ~Q(company_id=F("order_line__company_id"))
    )
