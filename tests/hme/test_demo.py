"""seed_demo: payers, coverage with valid MBIs, authorizations, claims in every status,
payments with adjustments; money consistent; idempotent."""

import pytest
from django.core.management import call_command

from core.quality import Outcome, get_checks
from core.validators import validate_mbi
from hme.choices import AuthorizationStatus, ClaimStatus, PayerKind
from hme.models import (
    Adjustment,
    Authorization,
    Claim,
    ClaimLine,
    Coverage,
    Payer,
    Payment,
    PaymentAllocation,
)

MODELS = [
    Payer,
    Coverage,
    Authorization,
    Claim,
    ClaimLine,
    Payment,
    PaymentAllocation,
    Adjustment,
]


@pytest.mark.django_db
def test_it_seeds_billing_data_once(capsys):
    call_command("seed_demo", allow_production=True)
    output = capsys.readouterr().out
    counts = {model: model.objects.count() for model in MODELS}
    call_command("seed_demo", allow_production=True)
    assert {model: model.objects.count() for model in MODELS} == counts
    assert "4 payers" in output

    kinds = set(Payer.objects.values_list("kind", flat=True))
    assert {PayerKind.MEDICARE, PayerKind.MEDICAID, PayerKind.COMMERCIAL} <= kinds
    medicare = Coverage.objects.filter(payer__kind=PayerKind.MEDICARE)
    assert medicare.count() >= 10
    for coverage in medicare:
        validate_mbi(coverage.member_id)
    assert set(Authorization.objects.values_list("status", flat=True)) == set(
        AuthorizationStatus.values
    )
    assert set(Claim.objects.values_list("status", flat=True)) == set(ClaimStatus.values)
    assert Claim.objects.exclude(rental=None).exists()
    assert Claim.objects.exclude(correction_note="").exists()
    assert Claim.objects.exclude(timely_filing_override_reason="").exists()
    assert Payment.objects.values("payer").distinct().count() >= 2
    assert set(Adjustment.objects.values_list("group", flat=True)) >= {"CO", "PR"}
    for check in get_checks():
        if check.name.startswith("hme."):
            result = check.function()  # rows, or an Outcome (ratios, freshness, MBIs)
            assert (result.count if isinstance(result, Outcome) else list(result)) in (0, []), (
                check.name
            )
