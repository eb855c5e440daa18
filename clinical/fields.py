"""Model fields for clinical codes."""

from core.fields import NormalizedCodeField
from core.validators import ICD10_MAX_LENGTH, ICD10Validator, format_icd10, normalize_icd10


class ICD10CodeField(NormalizedCodeField):
    """An ICD-10-CM code, stored without its dot (``G4733``), shown with it (``G47.33``).

    Input may carry the dot, spaces or lower case: the value is normalised before it is
    validated, saved or used in a lookup, so ``filter(code="g47.33")`` finds ``G4733``.
    """

    default_length = ICD10_MAX_LENGTH
    default_validator = ICD10Validator
    normalize = staticmethod(normalize_icd10)

    def formfield(self, **kwargs):
        # Room for the dot staff type: "T14.90XA" is 8 characters before normalising.
        return super().formfield(**{"max_length": ICD10_MAX_LENGTH + 1, **kwargs})


def display_icd10(code):
    """``G4733`` -> ``G47.33``; empty stays empty."""
    return format_icd10(code) if code else ""
