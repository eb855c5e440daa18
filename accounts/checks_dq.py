"""Data-quality checks of the accounts records (companies, memberships)."""

from django.db.models import F

from core.quality import Severity, register
from core.quality.checks import invalid_values
from core.validators import validate_npi

from .models import Company, Membership


@register(
    "accounts.membership_location_company",
    severity=Severity.ERROR,
    model=Membership,
    description="Memberships that name a location of another company.",
)
def membership_location_company():
    return (
        Membership.objects.filter(locations__isnull=False)
        .exclude(locations__company=F("company"))
        .distinct()
    )


@register(
    "accounts.company_npi",
    severity=Severity.ERROR,
    model=Company,
    description="Companies whose organisation NPI fails the format or check digit.",
)
def company_npi():
    # The Luhn check digit is not a regular expression: a streamed Python pass over
    # the non-blank NPIs (companies are a handful of rows).
    return invalid_values(Company.objects.exclude(npi=""), "npi", validate_npi, what="NPIs")
