"""Accounts demo data: the demo company, its two locations and one staff user per role.

Runs first among the apps' demos (INSTALLED_APPS order): the apps after it add their
records to ``context.company``. Running it again creates nothing twice.
"""

from .choices import LocationKind, Role
from .models import Company, Location, Membership, User


def seed(context):
    company, _ = Company.objects.get_or_create(
        name="Aries Demo Medical Supply",
        defaults={
            "legal_name": "Aries Demo Medical Supply LLC",
            "npi": "1558598797",
            "phone": "(614) 555-0100",
        },
    )
    locations = []
    for name, kind, address, city in [
        ("Columbus Main Office", LocationKind.OFFICE, "100 E Broad St", "Columbus"),
        ("Groveport Warehouse", LocationKind.WAREHOUSE, "4500 Groveport Rd", "Groveport"),
    ]:
        location, _ = Location.objects.get_or_create(
            company=company,
            name=name,
            defaults={
                "kind": kind,
                "address_line1": address,
                "city": city,
                "state": "OH",
                "postal_code": "43215",
                "phone": "(614) 555-0101",
            },
        )
        locations.append(location)
    users = {}
    for role in Role:
        email = f"{role.value}@demo.ariesone.test"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email,
                context.password,
                first_name=role.label,
                last_name="Demo",
                is_staff=True,
            )
        Membership.objects.get_or_create(user=user, company=company, defaults={"role": role})
        users[role.value] = user
    context.company = company
    context.locations = locations
    context.users = users
