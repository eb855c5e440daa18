"""Audit history of resupply; core.audit masks each encrypted column."""

from core import audit

from .models import (
    ReplacementRule,
    ResupplyContact,
    ResupplyContactItem,
    ResupplyRequest,
)

for model in (ReplacementRule, ResupplyRequest, ResupplyContact, ResupplyContactItem):
    audit.register(model)
