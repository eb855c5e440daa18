"""Audit history for the accounts models (passwords and login times left out)."""

from core import audit

from .models import Company, Location, Membership, User

audit.register(User, exclude_fields=["password", "last_login"])
audit.register(Company)
audit.register(Location)
audit.register(Membership, m2m_fields={"locations"})
