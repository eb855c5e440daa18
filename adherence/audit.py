"""Audit history of the adherence models (core.audit masks encrypted columns)."""

from core import audit

from .models import AdherenceStatus, UsageImport

# Nights are not audited one by one (a 90-night file is 90 entries): each import is.
for model in (UsageImport, AdherenceStatus):
    audit.register(model)
