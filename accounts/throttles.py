"""Rate limits of the sign-in endpoints: one bucket per account, one per client address.

Keyed on the address alone (the old ``ScopedRateThrottle``), one attacker's wrong
passwords used up every colleague's attempts behind the same clinic address, and a new
``X-Forwarded-For`` value gave a fresh bucket. Now the account bucket (``auth``) counts
attempts for one e-mail from anywhere, and the address bucket (``auth_address``, larger)
counts attempts from the real client address (``core.context.client_ip``, which trusts
``X-Forwarded-For`` only from ``NUM_PROXIES`` proxies) for any account.
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle

from core.context import client_ip


def account_digest(email):
    """The cache key part of an account: a hash, so no e-mail sits in the cache."""
    normalised = (email or "").strip().lower()
    return hashlib.sha256(normalised.encode()).hexdigest()


class SignInAccountThrottle(SimpleRateThrottle):
    """Sign-in attempts per account (the e-mail posted, normalised and hashed)."""

    scope = "auth"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None  # nothing to key on; the address bucket still counts it
        return self.cache_format % {"scope": self.scope, "ident": account_digest(email)}


class SignInAddressThrottle(SimpleRateThrottle):
    """Sign-in and refresh attempts per real client address, whatever the account."""

    scope = "auth_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or ""}
