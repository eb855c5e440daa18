"""Audit history with django-auditlog, made safe for PHI.

django-auditlog stores every changed value in ``LogEntry.changes``; unmasked, that is
the plaintext of encrypted columns. Its default mask keeps half of the value visible.
:func:`register` therefore masks *every* encrypted column completely and leaves the
blind index columns out (an HMAC of a date of birth is guessable by brute force).
"""

import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from auditlog.registry import auditlog
from django.db import models

from .phi import blind_index_fields, encrypted_field_names

MASK = "[encrypted]"

ModelT = TypeVar("ModelT", bound=type[models.Model])

# model class -> func(instance) returning the company id an audit entry belongs to,
# for models without a ``company_id`` of their own (accounts registers Company, User).
_company_resolvers: dict[type[models.Model], Callable[[Any], uuid.UUID | None]] = {}


def set_company_resolver(
    model: type[models.Model], func: Callable[[Any], uuid.UUID | None]
) -> None:
    """Say how an audit entry about a ``model`` row finds its company."""
    _company_resolvers[model] = func


def company_id_for(instance: models.Model) -> uuid.UUID | None:
    """The company an audit entry about ``instance`` belongs to, or None (global)."""
    resolver = _company_resolvers.get(type(instance))
    if resolver is not None:
        return resolver(instance)
    company_id: uuid.UUID | None = getattr(instance, "company_id", None)
    return company_id


def mask_value(value: object) -> str:
    """Replace the whole value: not even its length is kept."""
    return MASK


@overload
def register(model: ModelT, *, exclude_fields: Iterable[str] = (), **kwargs: Any) -> ModelT: ...


@overload
def register(
    model: None = None, *, exclude_fields: Iterable[str] = (), **kwargs: Any
) -> Callable[[ModelT], ModelT]: ...


def register(
    model: ModelT | None = None, *, exclude_fields: Iterable[str] = (), **kwargs: Any
) -> ModelT | Callable[[ModelT], ModelT]:
    """Register a model with auditlog, masking its PHI. Usable as a decorator."""

    def registrar(cls: ModelT) -> ModelT:
        auditlog.register(
            cls,
            mask_fields=encrypted_field_names(cls),
            mask_callable="core.audit.mask_value",
            exclude_fields=[
                *exclude_fields,
                *(f.name for f in blind_index_fields(cls).values()),
                # Bookkeeping columns: the log entry has its own actor and timestamp.
                "updated_at",
                "updated_by",
            ],
            **kwargs,
        )
        return cls

    if model is None:
        return registrar
    return registrar(model)
