"""The billing readiness reason of resupply (registered in ``ResupplyConfig.ready``
through ``hme.readiness.register_check``): a refill of a PAP supply needs the
patient's recorded confirmation of need (CMS PIM ch. 5, 5.2.6; policy article
A52467, "Refill requirements").

A line is a refill when its HCPCS code has a replacement rule and the patient got the
same code on an earlier order. It bills only when its order came from a resupply
request with a confirmation on file.
"""

import uuid
from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from dme.choices import DeliveryStatus
from dme.models import DeliveryItem

from . import rules
from .choices import ContactOutcome
from .models import ReplacementRule, ResupplyRequest

Found = Iterator[tuple[uuid.UUID, Any]]


def resupply_confirmation(batch: Any) -> Found:
    from hme.readiness.base import Fix, error

    company_ids = {line.company_id for line in batch.lines}
    if not company_ids:
        return
    codes = set(
        ReplacementRule.objects.filter(
            Q(company__isnull=True) | Q(company_id__in=company_ids), is_active=True
        ).values_list("hcpcs_code", flat=True)
    )
    lines = [line for line in batch.lines if line.equipment.hcpcs_code in codes]
    if not lines:
        return
    order_ids = {line.order_id for line in lines}
    patient_ids = {line.order.patient_id for line in lines}
    confirmed = set(
        ResupplyRequest.objects.filter(
            order_id__in=order_ids, contacts__outcome=ContactOutcome.CONFIRMED
        ).values_list("order_id", flat=True)
    )
    # Earlier deliveries of the same codes to these patients, from other orders.
    earlier: dict[tuple[Any, str], list[tuple[Any, Any]]] = {}
    for patient_id, code, order_id, day in DeliveryItem.objects.filter(
        delivery__order__patient_id__in=patient_ids,
        delivery__status=DeliveryStatus.DELIVERED,
        order_line__equipment__hcpcs_code__in={line.equipment.hcpcs_code for line in lines},
    ).values_list(
        "delivery__order__patient_id",
        "order_line__equipment__hcpcs_code",
        "delivery__order_id",
        "delivery__delivered_on",
    ):
        earlier.setdefault((patient_id, code), []).append((order_id, day))
    for line in lines:
        if line.order_id in confirmed:
            continue
        day = batch.dates.get(line.pk) or batch.on
        refill = any(
            order_id != line.order_id and delivered is not None and delivered < day
            for order_id, delivered in earlier.get(
                (line.order.patient_id, line.equipment.hcpcs_code), []
            )
        )
        if not refill:
            continue
        yield (
            line.pk,
            error(
                "resupply_unconfirmed",
                f"{line.equipment.hcpcs_code} is a refill: the patient's confirmation of "
                "need must be recorded (Resupply worklist) before it is billed.",
                Fix("dme.order", line.order_id, ""),
                rules.REFILL_SOURCE,
            ),
        )
