"""Model and form fields for codes that are normalised before they are checked.

:class:`NormalizedCodeField` is the shape (normalise on input, in lookups and on save,
then validate); :class:`HCPCSCodeField` is the HCPCS Level II code of the catalogue
(``dme.Equipment.hcpcs_code``) and of claim lines (``hme.ClaimLine.hcpcs``), and
``clinical.fields.ICD10CodeField`` the ICD-10-CM code.

HCPCS Level II (CMS, Healthcare Common Procedure Coding System): one letter then four
digits, ``E0601``; see ``core.validators.validate_hcpcs``.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.db import models

from .validators import HCPCSValidator, normalize_hcpcs

HCPCS_LENGTH = 5


class NormalizedCodeField(models.CharField):  # type: ignore[type-arg]
    """A code stored in one canonical form.

    Subclasses set ``normalize`` (a function of a non-empty string), ``default_length``
    and ``default_validator``. Input may carry spaces or lower case: the value is
    normalised before it is validated, saved or used in a lookup, so
    ``filter(code="e0601")`` finds ``E0601``.
    """

    default_length: int | None = None
    default_validator: Callable[[], Callable[[Any], None]] = None  # type: ignore[assignment]

    @staticmethod
    def normalize(value: str) -> str:
        return value

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", self.default_length)
        kwargs.setdefault("validators", [self.default_validator()])
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == self.default_length:
            kwargs.pop("max_length")
        if kwargs.get("validators") == [self.default_validator()]:
            kwargs.pop("validators")
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if isinstance(value, str) and value:
            return self.normalize(value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        return self.to_python(super().get_prep_value(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class HCPCSFormField(forms.CharField):
    """A form's HCPCS code: ``e0601`` is read as ``E0601`` (the model validates it)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", HCPCS_LENGTH)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str | None:
        value = super().to_python(value)
        return normalize_hcpcs(value) if value else value


class HCPCSCodeField(NormalizedCodeField):
    """A HCPCS Level II code, ``E0601``: normalised (stripped, upper case), validated."""

    default_length = HCPCS_LENGTH
    default_validator = HCPCSValidator
    normalize = staticmethod(normalize_hcpcs)

    def formfield(self, **kwargs: Any) -> forms.Field | None:  # type: ignore[override]
        return super().formfield(**{"form_class": HCPCSFormField, **kwargs})
