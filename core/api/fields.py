"""Serializer fields shared by the apps' APIs."""

from typing import Any

from rest_framework import serializers

from core.fields import HCPCS_LENGTH
from core.validators import HCPCSValidator, normalize_hcpcs


class HCPCSCodeField(serializers.CharField):
    """A HCPCS Level II code: ``e0601`` is read as ``E0601``, then validated (one
    letter, four digits; ``core.validators.validate_hcpcs``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", HCPCS_LENGTH)
        kwargs.setdefault("validators", [HCPCSValidator()])
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        return normalize_hcpcs(super().to_internal_value(data))
