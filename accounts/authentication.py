from rest_framework_simplejwt.authentication import JWTAuthentication

from .tenancy import request_company

COMPANY_CLAIM = "company"


class CompanyJWTAuthentication(JWTAuthentication):
    """JWT authentication that also takes the active company from the token."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, token = result
            request_company(user, token.get(COMPANY_CLAIM))
        return result
