"""Audit history for the accounts models (passwords and login times left out)."""

from core import audit
from core.context import get_actor
from core.tenancy import get_active_company_id

from .models import Company, Location, Membership, User

audit.register(User, exclude_fields=["password", "last_login"])
audit.register(Company)
audit.register(Location)
audit.register(Membership, m2m_fields={"locations"})

# Audit entries' company (core.AuditEntry): a company is its own; a user account is
# global, so its entries belong to the company the actor was acting for (none for a
# system job or an operator without a membership: operators only).
audit.set_company_resolver(Company, lambda company: company.pk)
audit.set_company_resolver(User, lambda user: get_active_company_id(get_actor()))
