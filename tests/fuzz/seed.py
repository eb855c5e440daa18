"""The fuzz run's data: the demo company and a second one, each with every model."""

from dataclasses import dataclass

from django.core.management import call_command

from core.context import acting_as


@dataclass
class Seeded:
    company: object
    other_company: object
    token: str


def seed_two_companies():
    import io

    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.authentication import COMPANY_CLAIM
    from accounts.choices import Role
    from accounts.models import Company, Location, Membership, User
    from core.management.commands.seed_demo import DemoContext, _app_modules

    call_command("seed_demo", allow_production=True, stdout=io.StringIO())
    company = Company.objects.get(name="Aries Demo Medical Supply")
    other = Company.objects.create(name="Other Supply", npi="1234567893")
    locations = [
        Location.objects.create(
            company=other,
            name=name,
            kind=kind,
            address_line1="1 Other St",
            city="Dayton",
            state="OH",
            postal_code="45402",
        )
        for name, kind in [("Other Office", "office"), ("Other Warehouse", "warehouse")]
    ]
    users = {}
    for role in Role:
        user = User.objects.create_user(f"{role.value}@other.test", "other-company-2026")
        Membership.objects.create(user=user, company=other, role=role)
        users[role.value] = user
    context = DemoContext(company=other, locations=locations, users=users, stdout=io.StringIO())
    with acting_as(None):
        for module in _app_modules("demo"):
            module.seed(context)
    admin = User.objects.get(email="administrator@demo.ariesone.test")
    refresh = RefreshToken.for_user(admin)
    refresh[COMPANY_CLAIM] = str(company.pk)
    return Seeded(company=company, other_company=other, token=str(refresh.access_token))
