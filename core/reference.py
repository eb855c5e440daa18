"""A company's reference rows by id, through the cache (``core.caching``): the catalogue
(``dme.Equipment``, kind ``catalogue``) and the payers (``hme.Payer``, kind ``payers``).

Where they are read as separate queries on hot paths, and what reads them here:

- an API write naming them (an order's lines name their catalogue items, a coverage
  its payer): the related field resolves the id
  (``core.api.serializers.CachedPrimaryKeyRelatedField``; an order's lines are read in
  one go by ``dme.api.serializers.OrderLinesSerializer``), one query per line before;
- a record's check that the item or payer it names exists (``TenantModel.clean_fields``
  through :func:`known_references`), once per order line on every order page,
  verification and API write before;
- the admin's list filter of a relation to them (the payer filter of eight billing
  changelists, ``core.admin_filters``): the company's rows, one query per page before.

Lists that page (admin changelists, API lists) are never cached: they stay live.

Each model's rows are scoped by company: a key carries the company id and the
company's version, the look-up filters by company, and a row read back is checked
against the company once more. Saving or deleting a row bumps only its company's
version (signals connected by :func:`register`); code that writes them in bulk
(``update()``, ``bulk_create``) must call ``invalidate(kind, company_id)`` itself.
Neither model has an encrypted field: no PHI is cached (``register`` refuses a model
that has one).
"""

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_save

from .caching import KINDS, cached, cached_many, invalidate

_KINDS: dict[type[models.Model], str] = {}
# A field name to order by, as in a key part (``name``, ``-created_at``, ``payer__name``).
ORDERING = re.compile(r"^-?[A-Za-z0-9_]{1,60}$")


def register(model: type[models.Model], kind: str) -> None:
    """Serve ``model``'s rows (a company-owned model) through the cache as ``kind``;
    its saves and deletes invalidate the row's company."""
    if kind not in KINDS:
        raise ValueError(f"Unknown cache kind {kind!r}; add it to core.caching.KINDS.")
    from .phi import encrypted_field_names

    encrypted = encrypted_field_names(model)
    if encrypted:
        raise ValueError(f"{model.__name__} has encrypted fields ({encrypted}): not cached.")
    _KINDS[model] = kind

    def changed(sender: Any, instance: Any, **kwargs: Any) -> None:
        invalidate(kind, instance.company_id)

    uid = f"core.reference.{model._meta.label_lower}"
    post_save.connect(changed, sender=model, dispatch_uid=uid, weak=False)
    post_delete.connect(changed, sender=model, dispatch_uid=uid, weak=False)


def kind_of(model: Any) -> str | None:
    """The cache kind of ``model``'s rows, None when they are not cached."""
    return _KINDS.get(model)


def as_uuid(value: Any) -> uuid.UUID | None:
    """``value`` as a UUID (a UUID, its text), None when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def rows_by_id(
    model: type[models.Model], company_id: uuid.UUID, ids: Iterable[Any]
) -> dict[uuid.UUID, Any]:
    """``{id: row}`` of those of ``ids`` that are ``company_id``'s rows of ``model``
    (another company's id, a malformed one: absent); at most one query."""
    kind = _KINDS[model]
    company = as_uuid(company_id)
    wanted = {str(pk) for pk in map(as_uuid, ids) if pk is not None}
    if company is None or not wanted:
        return {}

    def compute(missing: list[str]) -> dict[str, Any]:
        rows = model._default_manager.filter(company_id=company, pk__in=missing)
        return {str(row.pk): row for row in rows}

    found = cached_many(kind, company, wanted, compute, parts=("row", company))
    return {
        uuid.UUID(pk): row
        for pk, row in found.items()
        if getattr(row, "company_id", None) == company
    }


def row_by_id(model: type[models.Model], company_id: uuid.UUID, pk: Any) -> Any:
    """``company_id``'s row ``pk`` of ``model``, or None."""
    key = as_uuid(pk)
    if key is None:
        return None
    return rows_by_id(model, company_id, [key]).get(key)


def known_references(instance: models.Model, exclude: Iterable[str] = ()) -> set[str]:
    """The names of ``instance``'s foreign keys to a cached model whose row is one of
    the instance's company's (read through the cache): Django's existence check of
    those needs no query. Another company's row, a missing one: not named (Django's
    own check runs, and the model's same-company rule)."""
    skip = set(exclude)
    company_id = getattr(instance, "company_id", None)
    names: set[str] = set()
    if company_id is None:
        return names
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.ForeignKey) or field.name in skip:
            continue
        model: Any = field.related_model
        if model not in _KINDS or field.get_limit_choices_to():
            continue
        if not field.target_field.primary_key:
            continue
        value = getattr(instance, field.attname)
        if isinstance(value, uuid.UUID) and value in rows_by_id(model, company_id, [value]):
            names.add(field.name)
    return names


def choices(
    model: type[models.Model], company_id: uuid.UUID, ordering: Sequence[str] = ()
) -> list[tuple[Any, str]]:
    """``[(id, str(row))]`` of every row of ``company_id``, in ``ordering`` (the
    model's own when empty): the options of a list filter or a picker."""
    kind = _KINDS[model]
    if not all(ORDERING.match(name) for name in ordering):
        raise ValueError("choices(): ordering is field names, as name or -name.")

    def compute() -> list[tuple[Any, str]]:
        rows = model._default_manager.filter(company_id=company_id)
        if ordering:
            rows = rows.order_by(*ordering)
        return [(row.pk, str(row)) for row in rows]

    order = tuple(ordering) or ("-",)
    return cached(kind, company_id, ("choices", company_id, *order), compute)
