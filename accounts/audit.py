"""Audit history for the accounts models.

A password change is recorded (who changed it, when) with the value masked completely:
neither the hash nor its algorithm is kept. Login times are left out (every sign-in
would write an entry).
"""

from auditlog.registry import auditlog

from core import audit
from core.context import get_actor
from core.tenancy import get_active_company_id

from .models import Company, Location, Membership, User

PASSWORD_MASK = "[password]"


def mask_password(value):
    return PASSWORD_MASK


# User has no encrypted column, so core.audit.register's PHI masking has nothing to add;
# registered directly to mask the password column instead of leaving it out.
auditlog.register(
    User,
    exclude_fields=["last_login"],
    mask_fields=["password"],
    mask_callable="accounts.audit.mask_password",
)
audit.register(Company)
audit.register(Location)
audit.register(Membership, m2m_fields={"locations"})

# Audit entries' company (core.AuditEntry): a company is its own; a user account is
# global, so its entries belong to the company the actor was acting for (none for a
# system job or an operator without a membership: operators only).
audit.set_company_resolver(Company, lambda company: company.pk)
audit.set_company_resolver(User, lambda user: get_active_company_id(get_actor()))
