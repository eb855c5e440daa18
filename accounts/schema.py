"""OpenAPI (drf-spectacular) description of our JWT authentication."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class CompanyJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.CompanyJWTAuthentication"
    name = "jwtAuth"
