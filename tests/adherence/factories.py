import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from adherence.choices import AdherenceState, UsageSource
from adherence.models import AdherenceStatus, UsageImport, UsageNight
from tests.dme.factories import RentalFactory
from tests.factories import CompanyFactory

SAME = factory.SelfAttribute("..company")


class UsageNightFactory(DjangoModelFactory):
    class Meta:
        model = UsageNight

    company = factory.SubFactory(CompanyFactory)
    rental = factory.SubFactory(RentalFactory, company=SAME)
    patient = factory.SelfAttribute("rental.patient")
    night = factory.LazyAttribute(lambda o: o.rental.start_date)
    hours = Decimal("6.00")
    ahi = Decimal("3.0")
    leak = Decimal("10.0")
    source = UsageSource.AIRVIEW


class UsageImportFactory(DjangoModelFactory):
    class Meta:
        model = UsageImport

    company = factory.SubFactory(CompanyFactory)
    rental = factory.SubFactory(RentalFactory, company=SAME)
    source = UsageSource.AIRVIEW
    rows = 30
    created_count = 30


class AdherenceStatusFactory(DjangoModelFactory):
    class Meta:
        model = AdherenceStatus

    company = factory.SubFactory(CompanyFactory)
    rental = factory.SubFactory(RentalFactory, company=SAME)
    patient = factory.SelfAttribute("rental.patient")
    state = AdherenceState.ON_TRACK
    period_start = factory.LazyAttribute(lambda o: o.rental.start_date)
    period_end = factory.LazyAttribute(lambda o: o.rental.start_date + datetime.timedelta(days=89))
    evaluated_at = factory.LazyFunction(timezone.now)
