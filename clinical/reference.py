"""ICD-10-CM look-ups through the cache (``core.caching``, kind ``icd10``, global).

The code table is the same for every company and changes only when ``load_icd10``
runs (it invalidates the kind in one write) or a code is edited in the admin (the
signals below). Keys carry the code itself (a public code, never a patient's).
"""

import re
from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.caching import cached, cached_many, invalidate

from .models import ICD10Code

KIND = "icd10"
# What a stored diagnosis code looks like (core.validators: no dot, upper case).
_CODE = re.compile(r"^[A-Z0-9]{3,7}$")


def icd10_codes(codes: Iterable[str]) -> dict[str, ICD10Code]:
    """``{code: ICD10Code}`` of those of ``codes`` that are in the table."""
    wanted = set(codes)
    odd = {code for code in wanted if not _CODE.match(code or "")}
    found: dict[str, Any] = cached_many(
        KIND,
        None,
        wanted - odd,
        lambda missing: {row.code: row for row in ICD10Code.objects.filter(code__in=missing)},
    )
    if odd:  # malformed codes are looked up directly (and found nowhere, normally)
        found.update({row.code: row for row in ICD10Code.objects.filter(code__in=odd)})
    return found


def icd10_table_loaded() -> bool:
    """Whether ``load_icd10`` has ever run (until then no code can be checked)."""
    return bool(cached(KIND, None, ("loaded",), ICD10Code.objects.exists))


def invalidate_icd10() -> None:
    invalidate(KIND, None)


@receiver([post_save, post_delete], sender=ICD10Code, dispatch_uid="clinical.icd10.cache")
def _code_changed(sender: Any, **kwargs: Any) -> None:
    invalidate_icd10()
