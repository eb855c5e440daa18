"""Model fields for clinical codes."""

from django.db import models

from core.validators import ICD10_MAX_LENGTH, ICD10Validator, format_icd10, normalize_icd10


class ICD10CodeField(models.CharField):
    """An ICD-10-CM code, stored without its dot (``G4733``), shown with it (``G47.33``).

    Input may carry the dot, spaces or lower case: the value is normalised before it is
    validated, saved or used in a lookup, so ``filter(code="g47.33")`` finds ``G4733``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", ICD10_MAX_LENGTH)
        kwargs.setdefault("validators", [ICD10Validator()])
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == ICD10_MAX_LENGTH:
            kwargs.pop("max_length")
        if kwargs.get("validators") == [ICD10Validator()]:
            kwargs.pop("validators")
        return name, path, args, kwargs

    def to_python(self, value):
        value = super().to_python(value)
        if isinstance(value, str) and value:
            return normalize_icd10(value)
        return value

    def get_prep_value(self, value):
        return self.to_python(super().get_prep_value(value))

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

    def formfield(self, **kwargs):
        # Room for the dot staff type: "T14.90XA" is 8 characters before normalising.
        return super().formfield(**{"max_length": ICD10_MAX_LENGTH + 1, **kwargs})


def display_icd10(code):
    """``G4733`` -> ``G47.33``; empty stays empty."""
    return format_icd10(code) if code else ""
