"""Serializer base for company-owned models."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers

from core import reference
from core.api.exceptions import django_validation_fields
from core.phi import EncryptedJSONField
from core.tenancy import get_active_membership

if TYPE_CHECKING:
    _Serializer = serializers.Serializer[Any]
else:
    # The mixin's host, for the type checker only.
    _Serializer = object

AUDIT_FIELDS = ("id", "created_at", "updated_at", "created_by", "updated_by")

# The integer ranges of PostgreSQL, the production database. Django takes a field's
# range from the backend (SQLite allows 64 bits everywhere); the API enforces the same
# range on every backend, so the contract (and the OpenAPI schema) does not change
# with the database.
INT2_MIN, INT2_MAX = -(2**15), 2**15 - 1
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1
PORTABLE_INTEGER_RANGES = {
    "SmallIntegerField": (INT2_MIN, INT2_MAX),
    "PositiveSmallIntegerField": (0, INT2_MAX),
    "IntegerField": (INT4_MIN, INT4_MAX),
    "PositiveIntegerField": (0, INT4_MAX),
    "BigIntegerField": (INT8_MIN, INT8_MAX),
    "PositiveBigIntegerField": (0, INT8_MAX),
}


class ModelSerializer(serializers.ModelSerializer[Any]):
    """The project's ModelSerializer: encrypted JSON columns are JSON, and integer
    fields keep the portable (PostgreSQL) range on every backend."""

    # DRF would map the encrypted JSON column (a TextField underneath) to a CharField.
    serializer_field_mapping: ClassVar[
        dict[type[models.Field[Any, Any]], type[serializers.Field[Any, Any, Any, Any]]]
    ] = {
        **serializers.ModelSerializer.serializer_field_mapping,
        EncryptedJSONField: serializers.JSONField,
    }

    def build_standard_field(
        self, field_name: str, model_field: models.Field[Any, Any]
    ) -> tuple[type[serializers.Field[Any, Any, Any, Any]], dict[str, Any]]:
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        limits = PORTABLE_INTEGER_RANGES.get(model_field.get_internal_type())
        if limits is not None and "choices" not in field_kwargs:
            low, high = limits
            field_kwargs["min_value"] = max(field_kwargs.get("min_value", low), low)
            field_kwargs["max_value"] = min(field_kwargs.get("max_value", high), high)
        if field_kwargs.get("read_only") and model_field.null:
            # DRF builds a non-editable column's field with read_only and nothing else,
            # so the schema promised a value where the response has null.
            field_kwargs["allow_null"] = True
        return field_class, field_kwargs


class CachedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A primary key field that resolves a cached reference row (``core.reference``: a
    catalogue item, a payer) through the cache when its choices are exactly the user's
    company's rows (set by :func:`scope_related_fields`); otherwise DRF's own query.
    The same answers either way: the row, or "does not exist" for another company's."""

    cache_company_id: Any = None

    def to_internal_value(self, data: Any) -> Any:
        queryset = self.get_queryset()
        pk = reference.as_uuid(data)
        if self.cache_company_id is None or self.pk_field is not None or pk is None:
            return super().to_internal_value(data)
        if queryset is None:
            return super().to_internal_value(data)
        row = reference.row_by_id(queryset.model, self.cache_company_id, pk)
        if row is None:
            self.fail("does_not_exist", pk_value=data)
        return row


def _cache_company(queryset: Any, user: Any) -> Any:
    """The company whose cached rows are ``queryset.for_user(user)`` itself: a cached
    model's unfiltered queryset, a member (not an operator) of a company, a model not
    narrowed by location. None otherwise (the field queries as usual)."""
    if isinstance(queryset, models.Manager):
        queryset = queryset.all()
    model = queryset.model
    if reference.kind_of(model) is None or queryset.query.where or queryset.query.is_sliced:
        return None
    if getattr(model, "location_field", None):
        return None
    if user is None or not user.is_authenticated or user.is_superuser:
        return None
    membership = get_active_membership(user)
    return None if membership is None else membership.company_id


def scope_related_fields(
    fields: dict[str, serializers.Field[Any, Any, Any, Any]], user: Any
) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
    """Limit every related-object choice in ``fields`` (single and many) to what
    ``user`` may see (``for_user``): a company-B id in a company-A request is "does not
    exist", never a link across. The catalogue's and the payers' ids are then resolved
    through the cache (:class:`CachedPrimaryKeyRelatedField`)."""
    for field in fields.values():
        # A many field's choices live on its child relation.
        target: Any = getattr(field, "child_relation", field)
        queryset = getattr(target, "queryset", None)
        if queryset is not None and hasattr(queryset, "for_user"):
            if isinstance(target, CachedPrimaryKeyRelatedField):
                target.cache_company_id = _cache_company(queryset, user)
            target.queryset = queryset.for_user(user)
    return fields


class ScopedFieldsMixin(_Serializer):
    """The one place a serializer's related choices are scoped to the requesting user."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        request = self.context.get("request")
        return scope_related_fields(super().get_fields(), getattr(request, "user", None))


class ScopedSerializer(ScopedFieldsMixin, serializers.Serializer[Any]):
    """A plain (action body) serializer whose related choices are the user's rows."""


class ScopedModelSerializer(ScopedFieldsMixin, ModelSerializer):
    """A ModelSerializer of a model without a company of its own (a claim's allocation)
    whose related choices are the user's rows."""

    serializer_related_field = CachedPrimaryKeyRelatedField


class TenantModelSerializer(ScopedModelSerializer):
    """ModelSerializer for TenantModel subclasses.

    - every related-object choice is limited to what the requesting user may see, so a
      company-B id in a company-A request is "does not exist", never a link across;
    - the model's own ``clean()`` and database constraints (uniques per company, checks)
      run before saving, so a broken rule is a 400 with field messages, not a 500;
    - ``company`` and the audit fields are read-only; the viewset sets the company.
    """

    serializer_related_field = CachedPrimaryKeyRelatedField

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        for name in ("company", *AUDIT_FIELDS):
            if name in fields:
                fields[name].read_only = True
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model: type[models.Model] = self.Meta.model
        # Only the model's own columns: many-to-many values, nested writes (order lines)
        # and write-only flags (confirm_duplicate) are the serializer's business.
        columns = {field.name for field in model._meta.concrete_fields}
        values = {name: value for name, value in attrs.items() if name in columns}
        # A row of the serializer's model, whose columns are set by name below.
        instance: Any
        if self.instance is not None:
            instance = copy.copy(self.instance)
            for name, value in values.items():
                setattr(instance, name, value)
        else:
            instance = model(**values)
            company = self.context.get("company")
            if company is not None and hasattr(instance, "company_id"):
                instance.company = company
        # Fields the client cannot send (generated numbers, blind indexes) are not
        # checked here; everything else, including per-company uniques, is.
        writable = {name for name, field in self.fields.items() if not field.read_only}
        exclude = [
            field.name
            for field in model._meta.concrete_fields
            if field.name not in writable and field.name != "company"
        ]
        try:
            instance.full_clean(exclude=exclude, validate_unique=True)
        except DjangoValidationError as error:
            raise serializers.ValidationError(django_validation_fields(error)) from error
        return attrs
