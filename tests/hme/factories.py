"""factory_boy factories for the billing models (and the few DME rows billing needs).
Every value is made up; MBIs are well formed and fictitious."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from dme.choices import DeliveryStatus, OrderStatus, SignerRelationship
from dme.models import Delivery, DeliveryItem
from hme import services
from hme.choices import AuthorizationStatus, CoveragePriority, PayerKind
from hme.models import (
    Authorization,
    Claim,
    Coverage,
    FeeBand,
    FeeScheduleEntry,
    Payer,
    Payment,
    SupplierCharge,
)
from tests.clinical.factories import DiagnosisFactory, PatientFactory, ProviderFactory
from tests.dme.factories import OrderFactory, OrderLineFactory
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

    ``lines`` (a list of ``claim_line()`` dicts) defaults to one CPAP purchase. Every
    claim line bills something: a line given without ``order_line``/``rental_month``
    gets a delivered purchase line of its own, on one delivered order of the patient
    (the claim's order)."""

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
        lines = [dict(line) for line in (lines or [claim_line()])]
        bare = [line for line in lines if not (line.get("order_line") or line.get("rental_month"))]
        if bare and "order" not in kwargs:
            kwargs["order"] = DeliveredOrderFactory(
                company=kwargs["company"],
                patient=patient,
                location=kwargs["billing_location"],
                prescriber=kwargs["referring_provider"]
                or ProviderFactory(company=kwargs["company"]),
            )
        for line in bare:
            line["order_line"] = DeliveredLineFactory(
                order=kwargs["order"],
                modifiers=["NU"],
                equipment__company=kwargs["company"],
                equipment__billing_kind="purchase",
                equipment__hcpcs_code=line.get("hcpcs", "E0601"),
            )
        return services.create_claim(lines=lines, **kwargs)


class PaymentFactory(DjangoModelFactory):
    class Meta:
        model = Payment

    company = factory.SubFactory(CompanyFactory)
    payer = factory.SubFactory(PayerFactory, company=factory.SelfAttribute("..company"))
    number = factory.Sequence(lambda n: f"EFT{n:08d}")
    paid_date = factory.LazyFunction(timezone.localdate)
    amount = Decimal("1000.00")


# DME rows: the DME engineer's factories (tests/dme/factories.py), plus what billing
# needs of them: orders already delivered, and lines handed over.


class DeliveredOrderFactory(OrderFactory):
    status = OrderStatus.DELIVERED
    delivered_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=5))

    @factory.post_generation
    def proof(order, create, extracted, **kwargs):
        """A completed proof of delivery (signed by the patient), as complete_delivery
        records it; ``proof=False`` leaves it out (billing then holds the order)."""
        if create and extracted is not False:
            Delivery.objects.create(
                company=order.company,
                order=order,
                status=DeliveryStatus.DELIVERED,
                scheduled_date=order.delivered_on,
                address="742 Evergreen Terrace\nColumbus, OH 43215",
                patient_name=f"{order.patient.first_name} {order.patient.last_name}",
                delivered_on=order.delivered_on,
                signer_name="Pat Example",
                signer_relationship=SignerRelationship.PATIENT,
            )


class DeliveredLineFactory(OrderLineFactory):
    """A line of a delivered order, handed over in full. Pass ``order`` (the line
    takes its company)."""

    company = factory.SelfAttribute("order.company")
    order = factory.SubFactory(DeliveredOrderFactory)
    delivered_quantity = factory.SelfAttribute("quantity")

    @factory.post_generation
    def on_proof(line, create, extracted, **kwargs):
        """The line's item on its order's proof of delivery, when there is one."""
        delivery = line.order.deliveries.filter(status=DeliveryStatus.DELIVERED).first()
        if create and delivery is not None:
            DeliveryItem.objects.create(
                company=line.company,
                delivery=delivery,
                order_line=line,
                description=line.equipment.item_description,
                quantity=line.delivered_quantity or line.quantity,
            )


class FeeScheduleEntryFactory(DjangoModelFactory):
    """Medicare's allowable for a new CPAP (E0601-NU) in Ohio from 2026-01-01."""

    class Meta:
        model = FeeScheduleEntry

    company = factory.SubFactory(CompanyFactory)
    payer = factory.SubFactory(PayerFactory, company=factory.SelfAttribute("..company"))
    hcpcs = "E0601"
    modifier = "NU"
    band = FeeBand.NEW_PURCHASE
    state = "OH"
    allowable = Decimal("700.00")
    effective_from = datetime.date(2026, 1, 1)


class SupplierChargeFactory(DjangoModelFactory):
    class Meta:
        model = SupplierCharge

    company = factory.SubFactory(CompanyFactory)
    hcpcs = factory.Sequence(lambda n: f"E{1000 + n % 8000:04d}")
    band = FeeBand.NEW_PURCHASE
    charge = Decimal("900.00")


def paid_claim(company, payer=None):
    """An approved claim with a payment of $300 posted to its line: ``(claim, payment)``."""
    coverage = CoverageFactory(company=company, payer=payer or PayerFactory(company=company))
    claim = ClaimFactory(company=company, coverage=coverage)
    services.submit_claim(claim)
    services.mark_processing(claim)
    services.approve_claim(claim, allowed=Decimal("600.00"))
    payment = PaymentFactory(company=company, payer=coverage.payer)
    line = claim.lines.get()
    services.post_payment(payment, [{"claim": claim, "claim_line": line, "amount": "300.00"}])
    return Claim.objects.get(pk=claim.pk), payment
