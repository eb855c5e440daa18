"""The ICD-10-CM code table: which codes exist and which are billable, with dates.

Loaded by ``manage.py load_icd10`` from the maintained package ``simple-icd-10-cm``
(which ships the CMS/NCHS ICD-10-CM tabular list and code list). One table for every
company: a reference list, not a tenant's record. The format check
(``core.validators.validate_icd10``) stays the floor; this table says whether a code
exists and can be billed on a date of service. Only leaf codes (no subdivision below
them) are billable: a claim may not carry a category that has subcategories
(ICD-10-CM Official Guidelines for Coding and Reporting, section I.B.2 "Level of
Detail in Coding").
"""

import datetime
from typing import ClassVar, Self

from django.db import models
from django.db.models import Q

from core.models import BaseModel, BaseQuerySet


class ICD10CodeQuerySet(BaseQuerySet["ICD10Code"]):
    def effective_on(self, day: datetime.date) -> Self:
        """Codes in force on ``day`` (an empty ``effective_from``: in force before the
        first release loaded; ``effective_to`` inclusive)."""
        return self.filter(Q(effective_from__isnull=True) | Q(effective_from__lte=day)).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=day)
        )


class ICD10Code(BaseModel):
    """One ICD-10-CM code (stored without the dot, as the diagnoses store it)."""

    code = models.CharField("ICD-10-CM code", max_length=8, help_text="Without the dot: G4733.")
    description = models.CharField(max_length=400)
    billable = models.BooleanField(
        default=False, help_text="A leaf code: nothing more specific below it."
    )
    effective_from = models.DateField(
        "effective from",
        null=True,
        blank=True,
        help_text="Empty: in force before the first release loaded here.",
    )
    effective_to = models.DateField(
        "effective to", null=True, blank=True, help_text="Last day in force; empty if current."
    )
    release = models.CharField(
        max_length=40, blank=True, help_text="The release that last listed it (2026-04-01)."
    )

    objects: ClassVar = ICD10CodeQuerySet.as_manager()

    class Meta:
        verbose_name = "ICD-10-CM code"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                name="icd10code_code_uniq",
                violation_error_message="This ICD-10-CM code is already in the table.",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_from__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="icd10code_ends_after_start",
                violation_error_message="A code cannot end before it starts.",
            ),
        ]

    def __str__(self):
        return self.display_code

    @property
    def display_code(self):
        return self.code if len(self.code) <= 3 else f"{self.code[:3]}.{self.code[3:]}"

    def in_force_on(self, day: datetime.date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )
