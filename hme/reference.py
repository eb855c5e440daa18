"""Invalidation of the cached fee schedules (``hme.services.fees.fee_in_force``), and
the payers read through the cache (``core.reference``, kind ``payers``).

An entry saved or deleted, or a payer changed (its name is in the fee's description),
makes every cached fee of the company unreachable in one write; the importer's bulk
writes invalidate in ``import_fee_schedule``. A payer saved or deleted also invalidates
its company's cached payers (``core.reference.register``).
"""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.caching import invalidate
from core.reference import register

from .models import Payer

register(Payer, "payers")


@receiver([post_save, post_delete], sender="hme.FeeScheduleEntry", dispatch_uid="hme.fees.e")
@receiver([post_save, post_delete], sender="hme.Payer", dispatch_uid="hme.fees.p")
def _fees_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    invalidate("fees", instance.company_id)
