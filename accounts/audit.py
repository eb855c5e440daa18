"""Audit history for the accounts models.

A password change is recorded (who changed it, when) with the value masked completely:
neither the hash nor its algorithm is kept. Login times are left out (every sign-in
would write an entry).
"""

from auditlog.registry import auditlog

from core import audit

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
