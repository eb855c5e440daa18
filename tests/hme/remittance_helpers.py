"""Shared set-up of the money-in tests: the fixture files, a Medicare payer with the
fixtures' payer id (17003) and claims sent to it for the fixtures' date of service."""

import datetime
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from hme.choices import ClaimStatus
from hme.models import Claim
from tests.hme.factories import ClaimFactory, CoverageFactory, PayerFactory, claim_line

FIXTURES = Path(__file__).parent / "fixtures" / "edi"
# The date of service every fixture names (DTM*232 / DTM*472).
DOS = datetime.date(2026, 11, 2)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def medicare(company):
    return PayerFactory(company=company, payer_id="17003", name="DME MAC Jurisdiction B")


def sent_claim(company, payer, lines=None, coverage=None, patient=None):
    """A claim the payer holds (processing), as after submission and its 277CA."""
    coverage = coverage or CoverageFactory(
        company=company, payer=payer, **({"patient": patient} if patient else {})
    )
    claim = ClaimFactory(
        company=company,
        coverage=coverage,
        lines=lines or [claim_line(date_of_service=DOS, charge=Decimal("850.00"))],
    )
    # The submission itself (timely filing, 837P) is another branch's test.
    Claim.objects.filter(pk=claim.pk).update(
        status=ClaimStatus.PROCESSING, submitted_at=timezone.now()
    )
    claim.refresh_from_db()
    return claim
