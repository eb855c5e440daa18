"""Audit history of the documents app; core.audit masks each encrypted column."""

from core import audit

from .models import Document, FaxIntake, LegalHold, SigningRequest

for model in (Document, FaxIntake, SigningRequest, LegalHold):
    # The token's hash is a credential: never in the history.
    audit.register(model, exclude_fields=["token_hash"] if model is SigningRequest else ())
