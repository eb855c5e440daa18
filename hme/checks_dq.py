"""Data-quality checks of billing: the derived money must equal what it derives from."""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.quality import Severity, register

from .choices import AdjustmentGroup
from .models import Adjustment, Claim, ClaimLine, Payment, PaymentAllocation

MONEY = DecimalField(max_digits=12, decimal_places=2)


def _sum(queryset, field="amount"):
    """``SUM(field)`` of a queryset correlated with the outer row; 0 when it has none."""
    totals = queryset.order_by().annotate(_one=Value(1)).values("_one").annotate(total=Sum(field))
    return Coalesce(
        Subquery(totals.values("total"), output_field=MONEY),
        Value(Decimal("0.00"), output_field=MONEY),
    )


@register(
    "hme.claim_total_matches_lines",
    severity=Severity.ERROR,
    model=Claim,
    description="Claims whose total charge is not the sum of their lines' charges.",
)
def claim_total_matches_lines():
    lines = ClaimLine.objects.filter(claim=OuterRef("pk"))
    return Claim.objects.annotate(lines_total=_sum(lines, "charge")).exclude(
        total_charge=F("lines_total")
    )


@register(
    "hme.claim_paid_matches_allocations",
    severity=Severity.ERROR,
    model=Claim,
    description="Claims whose paid amount or patient responsibility is not the sum of the "
    "payments and PR adjustments posted to them.",
)
def claim_paid_matches_allocations():
    allocations = PaymentAllocation.objects.filter(claim=OuterRef("pk"))
    patient = Adjustment.objects.filter(allocation__claim=OuterRef("pk"), group=AdjustmentGroup.PR)
    return Claim.objects.annotate(posted=_sum(allocations), patient_total=_sum(patient)).filter(
        ~Q(paid_amount=F("posted")) | ~Q(patient_responsibility=F("patient_total"))
    )


@register(
    "hme.payment_allocated_matches",
    severity=Severity.ERROR,
    model=Payment,
    description="Payments whose allocated amount is not the sum of their allocations.",
)
def payment_allocated_matches():
    allocations = PaymentAllocation.objects.filter(payment=OuterRef("pk"))
    return Payment.objects.annotate(posted=_sum(allocations)).exclude(allocated_amount=F("posted"))
