"""Password rules of our own, beside Django's (``AUTH_PASSWORD_VALIDATORS``)."""

from django.conf import settings
from django.core.exceptions import ValidationError

# Printed by `make run` and set by `manage.py seed_demo` for every demo account: public,
# so never a real password. Compared case-insensitively and without surrounding spaces.
PUBLISHED_PASSWORDS = frozenset({"aries-demo-2026"})


class PublishedPasswordValidator:
    """Refuse the published demo password whenever ``DEBUG`` is off.

    HIPAA 45 CFR 164.308(a)(5)(ii)(D) (password management) and NIST SP 800-63B 5.1.1.2
    (refuse passwords known to be compromised). With ``DEBUG`` on, the embedded demo of
    `make run` keeps working.
    """

    message = "This password is published with the demo; choose another one."

    def validate(self, password, user=None):
        if settings.DEBUG:
            return
        if (password or "").strip().lower() in PUBLISHED_PASSWORDS:
            raise ValidationError(self.message, code="password_published")

    def get_help_text(self):
        return "Your password cannot be the published demo password."
