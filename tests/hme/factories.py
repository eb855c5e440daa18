"""factory_boy factories for the billing models (and the few DME rows billing needs).
Every value is made up; MBIs are well formed and fictitious."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from dme.choices import BillingKind, EquipmentCategory, LineKind, OrderStatus, RentalStatus
from dme.models import Equipment, Order, OrderLine, Rental
from hme import services
from hme.choices import AuthorizationStatus, CoveragePriority, PayerKind
from hme.models import Authorization, Claim, Coverage, Payer, Payment
from tests.clinical.factories import DiagnosisFactory, PatientFactory, ProviderFactory
from tests.factories import CompanyFactory, LocationFactory

MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # no S, L, O, I, B, Z


def make_mbi(n):
    """A valid, fictitious MBI from a sequence number (positions per CMS)."""
    letter = lambda k: MBI_LETTERS[k % len(MBI_LETTERS)]  # noqa: E731
    return (
        f"{1 + n % 9}{letter(n)}{letter(n // 20)}{n % 10}{letter(n // 7)}"
        f"{(n // 10) % 10}{(n // 100) % 10}{letter(n // 3)}{letter(n // 11)}{n % 100:02d}"
    )


class PayerFactory(DjangoModelFactory):
    class Meta:
        model = Payer

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Medicare DME MAC {n}")
    payer_id = factory.Sequence(lambda n: f"{17003 + n}")
    kind = PayerKind.MEDICARE
    timely_filing_days = 365
    city = "Nashville"
    state = "TN"


class CommercialPayerFactory(PayerFactory):
    name = factory.Sequence(lambda n: f"Commercial Health {n}")
    kind = PayerKind.COMMERCIAL
    timely_filing_days = 180


class CoverageFactory(DjangoModelFactory):
    class Meta:
        model = Coverage

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    payer = factory.SubFactory(PayerFactory, company=factory.SelfAttribute("..company"))
    member_id = factory.Sequence(make_mbi)
    priority = CoveragePriority.PRIMARY
    effective_date = datetime.date(2024, 1, 1)


class AuthorizationFactory(DjangoModelFactory):
    """An approved authorization for a power wheelchair (K0823)."""

    class Meta:
        model = Authorization

    company = factory.SubFactory(CompanyFactory)
    coverage = factory.SubFactory(CoverageFactory, company=factory.SelfAttribute("..company"))
    hcpcs_codes = ["K0823"]
    number = factory.Sequence(lambda n: f"UTN{n:010d}")
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    valid_to = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=150))
    units_approved = 1
    status = AuthorizationStatus.APPROVED


def claim_line(**fields):
    line = {
        "date_of_service": timezone.localdate() - datetime.timedelta(days=10),
        "hcpcs": "E0601",
        "modifiers": ["NU"],
        "units": 1,
        "charge": Decimal("850.00"),
        "diagnosis_pointers": [1],
    }
    line.update(fields)
    return line


class ClaimFactory(DjangoModelFactory):
    """A pending claim made by ``hme.services.create_claim`` (number, totals, checks).

    ``lines`` (a list of ``claim_line()`` dicts) defaults to one CPAP purchase."""

    class Meta:
        model = Claim

    company = factory.SubFactory(CompanyFactory)
    coverage = factory.SubFactory(CoverageFactory, company=factory.SelfAttribute("..company"))
    patient = factory.SelfAttribute("coverage.patient")
    billing_location = factory.SubFactory(
        LocationFactory, company=factory.SelfAttribute("..company")
    )
    referring_provider = factory.SubFactory(
        ProviderFactory, company=factory.SelfAttribute("..company")
    )
    diagnosis_codes = ["G4733"]
    lines = None

    @classmethod
    def _create(cls, model_class, *args, lines=None, **kwargs):
        patient = kwargs["patient"]
        for code in kwargs["diagnosis_codes"]:
            if not patient.diagnoses.filter(code=code, is_active=True).exists():
                DiagnosisFactory(company=kwargs["company"], patient=patient, code=code)
        return services.create_claim(lines=lines or [claim_line()], **kwargs)


class PaymentFactory(DjangoModelFactory):
    class Meta:
        model = Payment

    company = factory.SubFactory(CompanyFactory)
    payer = factory.SubFactory(PayerFactory, company=factory.SelfAttribute("..company"))
    number = factory.Sequence(lambda n: f"EFT{n:08d}")
    paid_date = factory.LazyFunction(timezone.localdate)
    amount = Decimal("1000.00")


# DME rows, made through the DME models (what billing reads from them). ------------


class EquipmentFactory(DjangoModelFactory):
    class Meta:
        model = Equipment

    company = factory.SubFactory(CompanyFactory)
    name = "AirSense 11 AutoSet CPAP"
    hcpcs_code = "E0601"
    category = EquipmentCategory.CPAP_BIPAP
    manufacturer = "ResMed"
    model_number = factory.Sequence(lambda n: f"39{n:03d}")
    billing_kind = BillingKind.CAPPED_RENTAL
    purchase_price = Decimal("1000.00")
    monthly_rental_fee = Decimal("100.00")


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    company = factory.SubFactory(CompanyFactory)
    patient = factory.SubFactory(PatientFactory, company=factory.SelfAttribute("..company"))
    prescriber = factory.SubFactory(ProviderFactory, company=factory.SelfAttribute("..company"))
    location = factory.SubFactory(LocationFactory, company=factory.SelfAttribute("..company"))
    written_order_date = factory.LazyFunction(
        lambda: timezone.localdate() - datetime.timedelta(days=20)
    )
    prescriber_signed_on = factory.SelfAttribute("written_order_date")


class DeliveredOrderFactory(OrderFactory):
    status = OrderStatus.DELIVERED
    delivered_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=5))


class OrderLineFactory(DjangoModelFactory):
    class Meta:
        model = OrderLine

    company = factory.SelfAttribute("order.company")
    order = factory.SubFactory(DeliveredOrderFactory)
    equipment = factory.SubFactory(EquipmentFactory, company=factory.SelfAttribute("..company"))
    quantity = 1
    kind = LineKind.PURCHASE
    modifiers = ["NU"]
    delivered_quantity = factory.SelfAttribute("quantity")


class RentalFactory(DjangoModelFactory):
    """An active rental of a capped-rental CPAP, started ``start_date``."""

    class Meta:
        model = Rental

    company = factory.SubFactory(CompanyFactory)
    order_line = factory.SubFactory(
        OrderLineFactory,
        kind=LineKind.RENTAL,
        modifiers=["RR"],
        order__company=factory.SelfAttribute("...company"),
    )
    order = factory.SelfAttribute("order_line.order")
    patient = factory.SelfAttribute("order.patient")
    equipment = factory.SelfAttribute("order_line.equipment")
    quantity = 1
    start_date = datetime.date(2025, 1, 15)
    monthly_fee = factory.SelfAttribute("equipment.monthly_rental_fee")
    cap_months = factory.LazyAttribute(lambda o: o.equipment.rental_cap_months)
    status = RentalStatus.ACTIVE
