from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from .tenancy import get_active_membership, request_company

COMPANY_CLAIM = "company"


class CompanyJWTAuthentication(JWTAuthentication):
    """JWT authentication that also takes the active company from the token.

    A token issued for a company stops working when the membership does (removed from
    the company, company or user deactivated), not only when it expires. The check is
    the membership lookup every permission check makes anyway (cached per request)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, token = result
            company_id = token.get(COMPANY_CLAIM)
            request_company(user, company_id)
            if company_id and not user.is_superuser and get_active_membership(user) is None:
                raise AuthenticationFailed(
                    "This token's membership is no longer active.", "membership_inactive"
                )
        return result
