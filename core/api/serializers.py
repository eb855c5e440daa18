"""Serializer base for company-owned models."""

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.api.exceptions import django_validation_fields
from core.phi import EncryptedJSONField

AUDIT_FIELDS = ("id", "created_at", "updated_at", "created_by", "updated_by")


class TenantModelSerializer(serializers.ModelSerializer):
    """ModelSerializer for TenantModel subclasses.

    - every related-object choice is limited to what the requesting user may see, so a
      company-B id in a company-A request is "does not exist", never a link across;
    - the model's own ``clean()`` and database constraints (uniques per company, checks)
      run before saving, so a broken rule is a 400 with field messages, not a 500;
    - ``company`` and the audit fields are read-only; the viewset sets the company.
    """

    serializer_related_field = serializers.PrimaryKeyRelatedField
    # DRF would map the encrypted JSON column (a TextField underneath) to a CharField.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        EncryptedJSONField: serializers.JSONField,
    }

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for field in fields.values():
            target = getattr(field, "child_relation", field)
            queryset = getattr(target, "queryset", None)
            if queryset is not None and hasattr(queryset, "for_user"):
                target.queryset = queryset.for_user(user)
        for name in ("company", *AUDIT_FIELDS):
            if name in fields:
                fields[name].read_only = True
        return fields

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        # Only the model's own columns: many-to-many values, nested writes (order lines)
        # and write-only flags (confirm_duplicate) are the serializer's business.
        columns = {field.name for field in model._meta.concrete_fields}
        values = {name: value for name, value in attrs.items() if name in columns}
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
