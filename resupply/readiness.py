"""The billing readiness reason of resupply (registered in ``ResupplyConfig.ready``
through ``hme.readiness.register_check``): a refill of a PAP supply needs the
patient's recorded confirmation of need (CMS PIM ch. 5, 5.2.6; policy article
A52467, "Refill requirements").

A line is a refill when its HCPCS code is one of the LCD's PAP supplies (the batch's
supply history: ``hme.readiness.rules.FREQUENCY_LIMITS``, the same table as the default
replacement rules) and the patient got the same code delivered before, on another line.
It bills only when its order came from a resupply request with a confirmation on file.
"""

import uuid
from collections.abc import Iterator
from typing import Any

from . import rules
from .choices import ContactOutcome
from .models import ResupplyRequest

Found = Iterator[tuple[uuid.UUID, Any]]


def resupply_confirmation(batch: Any) -> Found:
    """Refills without a recorded confirmation (an error). Reads the supply history the
    batch loaded for the LCD L33718 codes (``Batch.supply_history``); one query of its
    own, only when some line is a refill."""
    from hme.readiness.base import Fix, error

    refills = []
    for line in batch.lines:
        day = batch.dates.get(line.pk) or batch.on
        history = batch.supply_history.get((line.order.patient_id, line.equipment.hcpcs_code), [])
        if any(
            line_id != line.pk and delivered is not None and delivered < day
            for delivered, _quantity, line_id in history
        ):
            refills.append(line)
    if not refills:
        return
    confirmed = set(
        ResupplyRequest.objects.filter(
            order_id__in={line.order_id for line in refills},
            contacts__outcome=ContactOutcome.CONFIRMED,
        ).values_list("order_id", flat=True)
    )
    for line in refills:
        if line.order_id in confirmed:
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
