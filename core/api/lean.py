"""Lean list representation: a page of rows through a plan built once per page.

DRF's ``Serializer.to_representation`` walks every field of every row through
``field.get_attribute`` (a generic attribute walk with its exception handling) and
``field.to_representation``; for a related id it wraps the value in a ``PKOnlyObject``
first, and a date-time field asks for the current time zone once per value. On a 50-row
orders page with their lines that walk cost more than the SQL many times over (issue 19:
94 us an order against 22-25 us for a plain ModelSerializer).

:class:`LeanListSerializer` reads the same fields of the same serializer, in the same
order, with the same conversions, and gives the same output (``tests/core/test_lean.py``
and each list's own comparison test prove it byte for byte), but decides once per page
how each field is read:

- a related id (``PrimaryKeyRelatedField`` without ``pk_field``): the ``<name>_id``
  column, no related object, no ``PKOnlyObject``;
- a model column under its own name: ``getattr`` and the field's own
  ``to_representation`` (``None`` stays ``None``, as DRF does);
- an ISO 8601 date-time field: the page's current time zone taken once;
- a nested list of a model serializer (an order's lines): the same plan, recursively;
- anything else (a method field, a dotted source, a field class of its own): DRF's own
  ``get_attribute`` / ``to_representation`` protocol, unchanged.

Only reads change: validation, writes and the schema are the serializer's own.
"""

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from rest_framework import relations, serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

# A reader's answer for a field DRF leaves out of the row (``SkipField``).
_SKIP = object()
Reader = Callable[[Any], Any]


def _protocol(field: Field[Any, Any, Any, Any]) -> Reader:
    """DRF's own reading of one field (``Serializer.to_representation``'s loop body)."""

    def read(instance: Any) -> Any:
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            return _SKIP
        check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        return None if check_for_none is None else field.to_representation(attribute)

    return read


def _model_of(serializer: Any) -> type[models.Model] | None:
    meta = getattr(serializer, "Meta", None)
    model = getattr(meta, "model", None)
    return model if isinstance(model, type) and issubclass(model, models.Model) else None


def _plain_attribute(model: type[models.Model] | None, source: str) -> bool:
    """Whether ``source`` is a model column (not a relation): reading it is a plain
    attribute that cannot raise. Properties keep DRF's protocol, which turns an
    ``ObjectDoesNotExist`` raised inside them into ``None``."""
    if model is None:
        return False
    try:
        field = model._meta.get_field(source)
    except FieldDoesNotExist:
        return False
    return field.concrete and not field.is_relation


def _overrides(field: Any, base: type, *names: str) -> bool:
    return any(getattr(type(field), name) is not getattr(base, name) for name in names)


def _datetime_reader(field: serializers.DateTimeField, source: str, zone: Any) -> Reader | None:
    """``DateTimeField.to_representation`` for an aware value in ISO 8601, with the time
    zone taken once (DRF asks for it per value); None when the field is configured in a
    way this does not cover (its own format or time zone)."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if (
        type(field) is not serializers.DateTimeField
        or hasattr(field, "timezone")
        or output_format is None
        or output_format.lower() != "iso-8601"
        or zone is None
    ):
        return None

    def read(instance: Any) -> Any:
        value: Any = getattr(instance, source)
        if not value:
            return None
        if not isinstance(value, datetime.datetime) or timezone.is_naive(value):
            return field.to_representation(value)  # text, or DRF's make_aware
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return read


def _nested_reader(field: Any, zone: Any) -> Reader:
    """A nested ``many=True`` model serializer (an order's lines): the same plan, one
    row per related object; DRF's protocol for a list class with its own reading."""
    source = field.source
    fallback = _protocol(field)
    if not (
        type(field).to_representation is serializers.ListSerializer.to_representation
        and isinstance(field.child, serializers.Serializer)
        and _plain_name(source)
    ):
        return fallback
    row = plan(field.child, zone)

    def read_many(instance: Any) -> Any:
        try:
            related = getattr(instance, source)
        except (AttributeError, KeyError):
            return fallback(instance)
        if related is None:
            return None
        rows = related.all() if isinstance(related, models.manager.BaseManager) else related
        return [row(item) for item in rows]

    return read_many


def _reader(field: Any, model: type[models.Model] | None, zone: Any) -> tuple[str, Any]:
    """How to read ``field``: ``("id", attname)`` (a related id's column),
    ``("value", (source, convert))`` (a column or property, ``None`` kept),
    ``("call", read)`` (``read(instance)``, never skipped), or ``("protocol", read)``
    (DRF's own, may skip the field)."""
    source = field.source
    if isinstance(field, serializers.ListSerializer):
        return "protocol", _nested_reader(field, zone)
    if isinstance(field, relations.PrimaryKeyRelatedField):
        if (
            field.pk_field is None
            and model is not None
            and _plain_name(source)
            and not _overrides(
                field, relations.PrimaryKeyRelatedField, "get_attribute", "to_representation"
            )
            and field.use_pk_only_optimization()
        ):
            try:
                related_field = model._meta.get_field(source)
            except FieldDoesNotExist:
                return "protocol", _protocol(field)
            if related_field.concrete and related_field.many_to_one:
                return "id", related_field.attname  # type: ignore[union-attr]
        return "protocol", _protocol(field)
    if (
        isinstance(field, Field)
        and not isinstance(field, serializers.SerializerMethodField)
        and not _overrides(field, Field, "get_attribute")
        and _plain_name(source)
        and _plain_attribute(model, source)
    ):
        if isinstance(field, serializers.DateTimeField):
            read_datetime = _datetime_reader(field, source, zone)
            if read_datetime is not None:
                return "call", read_datetime
        return "value", (source, field.to_representation)
    return "protocol", _protocol(field)


def _plain_name(source: str) -> bool:
    return source.isidentifier() and not source.startswith("_")


def plan(serializer: Any, zone: Any = None) -> Callable[[Any], dict[str, Any]]:
    """``row(instance) -> dict``: ``serializer``'s representation of one instance.

    The readers are chosen once and compiled into one function whose body is a dict
    display (``{"id": instance.id, "number": convert(instance.number), ...}``): no
    loop and no call per field where a column is read as is. The names in the
    generated source are the serializer's own field sources, checked to be plain
    identifiers; the values it reads are bound as arguments, never formatted in."""
    model = _model_of(serializer)
    bound: dict[str, Any] = {"_SKIP": _SKIP}
    items, skippable = [], []
    for index, field in enumerate(serializer._readable_fields):
        kind, how = _reader(field, model, zone)
        if kind == "id":
            expression = f"instance.{how}"
        elif kind == "value":
            source, convert = how
            bound[f"_c{index}"] = convert
            expression = f"(None if (v := instance.{source}) is None else _c{index}(v))"
        else:
            bound[f"_r{index}"] = how
            expression = f"_r{index}(instance)"
            if kind == "protocol":
                skippable.append(field.field_name)
        items.append(f"        {field.field_name!r}: {expression},")
    lines = ["def row(instance):", "    out = {", *items, "    }"]
    for name in skippable:
        lines += [f"    if out[{name!r}] is _SKIP:", f"        del out[{name!r}]"]
    lines.append("    return out")
    namespace: dict[str, Any] = {}
    exec(  # noqa: S102 - source built from checked field names, values bound
        compile("\n".join(lines), f"<lean plan of {type(serializer).__name__}>", "exec"),
        bound,
        namespace,
    )
    row: Callable[[Any], dict[str, Any]] = namespace["row"]
    return row


class LeanListSerializer(serializers.ListSerializer):  # type: ignore[type-arg]
    """A ``many=True`` serializer whose rows go through :func:`plan` (same output)."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        rows = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        model = _model_of(self.child)
        if model is None or not all(isinstance(item, model) for item in rows):
            # Not rows of the serializer's model (dicts, other objects): DRF's own walk.
            return super().to_representation(rows)
        zone = timezone.get_current_timezone() if settings.USE_TZ else None
        row = plan(self.child, zone)
        return [row(item) for item in rows]


def related_only(queryset: Any, relation: str, *keep: str) -> Any:
    """``queryset`` with the ``select_related`` row of ``relation`` narrowed to its
    primary key and ``keep`` (what the list shows of it): a claim's page shows its
    patient's number, and loading the whole patient decrypted their date of birth,
    phone, e-mail and address for nothing."""
    related = queryset.model._meta.get_field(relation).related_model
    deferred = [
        f"{relation}__{field.name}"
        for field in related._meta.concrete_fields
        if not field.primary_key and field.name not in keep
    ]
    return queryset.defer(*deferred)
