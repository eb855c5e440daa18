"""The catalogue read through the cache (``core.reference``, kind ``catalogue``, the
company's scope): an item saved or deleted invalidates its company's entries at once."""

import uuid
from collections.abc import Iterable
from typing import Any

from core.reference import register, rows_by_id

from .models import Equipment

register(Equipment, "catalogue")


def catalogue_items(company_id: uuid.UUID, ids: Iterable[Any]) -> dict[uuid.UUID, Equipment]:
    """``{id: Equipment}`` of those of ``ids`` in ``company_id``'s catalogue."""
    return rows_by_id(Equipment, company_id, ids)
