"""Refresh the stored holds after a save that can change a line's reasons (after the
transaction commits; a failed refresh is logged without PHI and the daily task
catches up). Connected in ``HmeConfig.ready()``."""

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save

from clinical.models import Diagnosis, Provider
from dme.models import Delivery, DeliveryItem, Order, OrderLine, Rental

from ..models import Authorization, Claim, ClaimLine, Coverage

logger = logging.getLogger(__name__)


# While set, saves register no refresh of their own (``holds_refreshed_after``).
_batched: ContextVar[bool] = ContextVar("hme_holds_batched", default=False)


@contextmanager
def holds_refreshed_after(ids: Callable[[], Iterable[uuid.UUID]]) -> Iterator[None]:
    """For a bulk job (an 835 posting thousands of claims in one transaction): the saves
    inside register no refresh each (an ``on_commit`` callback per save would grow with
    the job); when the block ends without an error, one refresh of the order lines
    ``ids()`` gives (queried after the commit) is registered instead."""
    token = _batched.set(True)
    try:
        yield
    finally:
        _batched.reset(token)
    _later(ids)


def _later(ids: Callable[[], Iterable[uuid.UUID]]) -> None:
    if _batched.get():
        return

    def run() -> None:
        from .holds import refresh_holds

        try:
            refresh_holds(list(ids()))
        except Exception as error:  # the save succeeded; the daily refresh catches up
            logger.warning("billing holds: refresh after save failed (%s)", type(error).__name__)

    transaction.on_commit(run)


def _lines_of_orders(**filters: Any) -> Callable[[], Iterable[uuid.UUID]]:
    def ids() -> Iterable[uuid.UUID]:
        from .holds import pending_lines

        return pending_lines(OrderLine.objects.filter(**filters)).values_list("pk", flat=True)

    return ids


def on_line(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(lambda: [instance.pk])


def on_order(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(_lines_of_orders(order_id=instance.pk))


def on_delivery(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(_lines_of_orders(order_id=instance.order_id))


def on_delivery_item(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(lambda: [instance.order_line_id])


def on_patient_fact(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(_lines_of_orders(order__patient_id=instance.patient_id))


def on_authorization(sender: Any, instance: Any, **kwargs: Any) -> None:
    patient_id = Coverage.objects.filter(pk=instance.coverage_id).values_list(
        "patient_id", flat=True
    )
    _later(_lines_of_orders(order__patient_id__in=list(patient_id)))


def on_provider(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(_lines_of_orders(order__prescriber_id=instance.pk))


def on_claim_line(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.order_line_id:
        _later(lambda: [instance.order_line_id])


def on_claim(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(
        lambda: ClaimLine.objects.filter(
            claim_id=instance.pk, order_line__isnull=False
        ).values_list("order_line_id", flat=True)
    )


def on_rental(sender: Any, instance: Any, **kwargs: Any) -> None:
    _later(lambda: [instance.order_line_id])


RECEIVERS = [
    (OrderLine, on_line),
    (Order, on_order),
    (Delivery, on_delivery),
    (DeliveryItem, on_delivery_item),
    (Coverage, on_patient_fact),
    (Diagnosis, on_patient_fact),
    (Authorization, on_authorization),
    (Provider, on_provider),
    (ClaimLine, on_claim_line),
    (Claim, on_claim),
    (Rental, on_rental),
]


def connect() -> None:
    for model, receiver in RECEIVERS:
        post_save.connect(receiver, sender=model, dispatch_uid=f"hme.readiness.{model.__name__}")
