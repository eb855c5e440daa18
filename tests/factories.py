"""factory_boy factories shared by every app's tests."""

import datetime

import factory
from factory.django import DjangoModelFactory

from accounts.choices import LocationKind, Role
from accounts.models import Company, Location, Membership, User

TEST_PASSWORD = "correct-horse-battery-staple"


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Supplier {n}")
    npi = "1558598797"


class LocationFactory(DjangoModelFactory):
    class Meta:
        model = Location

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    kind = LocationKind.OFFICE
    address_line1 = factory.Sequence(lambda n: f"{100 + n} Main St")
    city = "Columbus"
    state = "OH"
    postal_code = "43215"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    is_staff = True
    password = factory.django.Password(TEST_PASSWORD)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)
    role = Role.ADMINISTRATOR


def member(company, role, **user_fields):
    """A user who is an active member of ``company`` with ``role``."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, company=company, role=role)
    return user


class PHIRecordFactory(DjangoModelFactory):
    """The patient-like record of the test app (tests/testapp)."""

    class Meta:
        model = "testapp.PHIRecord"

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Patient {n:03d}")
    dob = datetime.date(1950, 1, 2)
    mbi = "1EG4TE5MK73"
    notes = "Uses CPAP nightly; AHI 32 at diagnosis."
