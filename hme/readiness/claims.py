"""The reasons of a claim itself (beyond its order lines'): KH/KI/KJ of a rental month,
KX with GA/GY/GZ on a claim line, and timely filing while it is not submitted."""

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

from dme.choices import BillingKind

from ..rules import CAPPED_RENTAL_MONTH_MODIFIERS, rental_month_modifiers
from .base import Fix, Reason, error, warning
from .checks import MODIFIERS, TIMELY
from .rules import NOT_WITH_KX, TIMELY_FILING_WARNING_DAYS


def claim_level_reasons(
    claim_lines: list[Any], on: datetime.date
) -> Iterator[tuple[uuid.UUID, Reason]]:
    from dme.models import Rental

    rental_ids = {cl.claim.rental_id for cl in claim_lines if cl.claim.rental_id}
    capped = set(
        Rental.objects.filter(
            pk__in=rental_ids, equipment__billing_kind=BillingKind.CAPPED_RENTAL
        ).values_list("pk", flat=True)
    )
    seen_claims: set[uuid.UUID] = set()
    for line in claim_lines:
        claim = line.claim
        mods = [str(m).upper() for m in (line.modifiers or [])]
        fix = Fix("hme.claimline", line.pk, "modifiers")
        if claim.rental_id in capped and claim.rental_month:
            expected = [
                m
                for m in rental_month_modifiers(claim.rental_month)
                if m in CAPPED_RENTAL_MONTH_MODIFIERS
            ]
            if not set(expected) <= set(mods):
                yield (
                    claim.pk,
                    error(
                        "modifier_rental_month",
                        f"Line {line.line_number} bills rental month {claim.rental_month}: it "
                        f"needs {expected[0]} (KH month 1, KI months 2-3, KJ months 4 on).",
                        fix,
                        MODIFIERS,
                    ),
                )
        if "KX" in mods and (conflict := [m for m in mods if m in NOT_WITH_KX]):
            yield (
                claim.pk,
                error(
                    "modifier_kx_conflict",
                    f"Line {line.line_number}: KX cannot go with {', '.join(conflict)}.",
                    fix,
                    MODIFIERS,
                ),
            )
        if claim.pk in seen_claims or claim.submitted_at is not None:
            continue
        seen_claims.add(claim.pk)
        first = min(cl.date_of_service for cl in claim_lines if cl.claim_id == claim.pk)
        limit = claim.payer.timely_filing_days
        deadline = first + datetime.timedelta(days=limit)
        left = (deadline - on).days
        if left < 0:
            yield (
                claim.pk,
                error(
                    "timely_filing_past",
                    f"Claim {claim.number} is past the {limit}-day filing limit (ended "
                    f"{deadline.isoformat()}).",
                    None,
                    TIMELY,
                ),
            )
        elif left <= TIMELY_FILING_WARNING_DAYS:
            yield (
                claim.pk,
                warning(
                    "timely_filing_soon",
                    f"{left} day(s) left to submit claim {claim.number} "
                    f"(limit {deadline.isoformat()}).",
                    None,
                    TIMELY,
                ),
            )
