"""Invalidation of the cached fee schedules (``hme.services.fees.fee_in_force``).

An entry saved or deleted, or a payer changed (its name is in the fee's description),
makes every cached fee of the company unreachable in one write; the importer's bulk
writes invalidate in ``import_fee_schedule``.
"""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.caching import invalidate


@receiver([post_save, post_delete], sender="hme.FeeScheduleEntry", dispatch_uid="hme.fees.e")
@receiver([post_save, post_delete], sender="hme.Payer", dispatch_uid="hme.fees.p")
def _fees_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    invalidate("fees", instance.company_id)
