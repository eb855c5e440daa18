"""The claim state machine: every legal transition, every illegal one refused unchanged."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Role
from core.exceptions import InvalidTransition, ServiceError
from hme import services
from hme.choices import ClaimStatus
from hme.models import Claim
from hme.transitions import CLAIM_TRANSITIONS
from tests.factories import member
from tests.hme.factories import ClaimFactory, PaymentFactory, claim_line


def to_status(claim, status):
    """Walk a fresh claim to ``status`` through the services."""
    if status == ClaimStatus.PENDING:
        return claim
    if status == ClaimStatus.VOID:
        return services.void_claim(claim, "Entered twice")
    services.submit_claim(claim)
    services.mark_processing(claim)
    if status == ClaimStatus.PROCESSING:
        return Claim.objects.get(pk=claim.pk)
    if status == ClaimStatus.DENIED:
        return services.deny_claim(claim, "CO", "16", "Missing information")
    services.approve_claim(claim, allowed=claim.total_charge)
    if status == ClaimStatus.APPROVED:
        return Claim.objects.get(pk=claim.pk)
    payment = PaymentFactory(company=claim.company, payer=claim.payer, amount=claim.total_charge)
    services.post_payment(payment, [{"claim": claim, "amount": claim.total_charge}])
    return Claim.objects.get(pk=claim.pk)


# One way to attempt each move, so every (from, to) pair is tried.
def acknowledge(claim):
    """-> processing: the payer's acknowledgement of a pending claim, or its reversal
    (835 CLP02 22) of an approved or paid one."""
    if claim.status in (ClaimStatus.APPROVED, ClaimStatus.PAID):
        return services.reverse_adjudication(claim)
    if claim.status == ClaimStatus.PENDING and claim.submitted_at is None:
        claim = services.submit_claim(claim)
    return services.mark_processing(claim)


ATTEMPTS = {
    ClaimStatus.PROCESSING: acknowledge,
    ClaimStatus.APPROVED: lambda claim: services.approve_claim(claim, allowed="10.00"),
    ClaimStatus.DENIED: lambda claim: services.deny_claim(claim, "CO", "50"),
    ClaimStatus.PENDING: lambda claim: services.resubmit_claim(claim, "Added the KX modifier"),
    ClaimStatus.VOID: lambda claim: services.void_claim(claim, "Duplicate"),
}


def test_the_table_is_the_design():
    assert {
        "pending": {"processing", "void"},
        "processing": {"approved", "denied", "void"},
        "approved": {"paid", "processing", "void"},
        "denied": {"pending", "void"},
        "paid": {"processing"},
        "void": set(),
    } == CLAIM_TRANSITIONS


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (source, target)
        for source in ClaimStatus
        for target in ATTEMPTS
        if target in CLAIM_TRANSITIONS[source]
    ],
)
def test_each_legal_transition_works(company, source, target):
    claim = to_status(ClaimFactory(company=company), source)
    assert claim.status == source
    ATTEMPTS[target](claim)
    claim.refresh_from_db()
    assert claim.status == target


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (source, target)
        for source in ClaimStatus
        for target in ATTEMPTS
        if target not in CLAIM_TRANSITIONS[source]
    ],
)
def test_each_illegal_transition_is_refused_and_changes_nothing(company, source, target):
    claim = to_status(ClaimFactory(company=company), source)
    before = Claim.objects.filter(pk=claim.pk).values().get()
    with pytest.raises(InvalidTransition) as caught:
        ATTEMPTS[target](claim)
    assert caught.value.status_code == 409
    assert claim.number in caught.value.message
    assert Claim.objects.filter(pk=claim.pk).values().get() == before


@pytest.mark.parametrize("source", [ClaimStatus.APPROVED, ClaimStatus.PAID])
def test_only_a_reversal_returns_an_adjudicated_claim_to_processing(company, source):
    """approved/paid -> processing is the payer's reversal (005010X221A1 CLP02 22), never
    an acknowledgement (277CA) of the claim."""
    claim = to_status(ClaimFactory(company=company), source)
    with pytest.raises(InvalidTransition):
        services.mark_processing(claim)
    claim.refresh_from_db()
    assert claim.status == source
    claim = services.reverse_adjudication(claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING
    assert (claim.adjudicated_at, claim.paid_at) == (None, None)


@pytest.mark.parametrize(
    "source", [ClaimStatus.PENDING, ClaimStatus.PROCESSING, ClaimStatus.DENIED, ClaimStatus.VOID]
)
def test_a_claim_never_adjudicated_cannot_be_reversed(company, source):
    claim = to_status(ClaimFactory(company=company), source)
    before = Claim.objects.filter(pk=claim.pk).values().get()
    with pytest.raises(InvalidTransition) as caught:
        services.reverse_adjudication(claim)
    assert caught.value.status_code == 409
    assert Claim.objects.filter(pk=claim.pk).values().get() == before


def test_approved_becomes_paid_only_through_payments(company):
    # "paid" has no service of its own: post_payment moves it (see test_payments).
    assert ClaimStatus.PAID not in ATTEMPTS


def test_submitting_sets_the_time_and_keeps_the_claim_pending(company):
    claim = ClaimFactory(company=company)
    services.submit_claim(claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PENDING
    assert claim.submitted_at is not None
    assert claim.submission_count == 1


def test_a_claim_is_submitted_once(company):
    claim = services.submit_claim(ClaimFactory(company=company))
    with pytest.raises(InvalidTransition) as caught:
        services.submit_claim(claim)
    assert caught.value.code == "already_submitted"


def test_an_unsubmitted_claim_cannot_be_acknowledged(company):
    claim = ClaimFactory(company=company)
    with pytest.raises(InvalidTransition) as caught:
        services.mark_processing(claim)
    assert caught.value.code == "not_submitted"
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PENDING


@pytest.mark.parametrize("status", [ClaimStatus.PROCESSING, ClaimStatus.APPROVED])
def test_only_pending_claims_are_submitted(company, status):
    claim = to_status(ClaimFactory(company=company), status)
    with pytest.raises(InvalidTransition):
        services.submit_claim(claim)


def test_a_denial_records_group_code_and_reason(company):
    claim = to_status(ClaimFactory(company=company), ClaimStatus.PROCESSING)
    services.deny_claim(claim, "co", "050", "")
    claim.refresh_from_db()
    assert (claim.denial_group, claim.denial_code) == ("CO", "50")
    assert claim.denial_reason.startswith("CO-50 These are non-covered services")
    assert claim.allowed_amount == Decimal("0.00")


@pytest.mark.parametrize(
    ("group", "code", "field"),
    [("XX", "16", "group"), ("CO", "1234", "code"), ("CO", "", "code"), ("PR", "A", "code")],
)
def test_a_malformed_denial_is_refused(company, group, code, field):
    claim = to_status(ClaimFactory(company=company), ClaimStatus.PROCESSING)
    with pytest.raises(ServiceError) as caught:
        services.deny_claim(claim, group, code)
    assert field in caught.value.fields
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING


def test_an_unknown_but_well_formed_carc_is_accepted(company):
    claim = to_status(ClaimFactory(company=company), ClaimStatus.PROCESSING)
    services.deny_claim(claim, "OA", "B7", "Provider not certified for this procedure")
    claim.refresh_from_db()
    assert claim.denial_display == "OA-B7"


def test_resubmission_needs_a_note_and_sends_the_claim_again(company):
    claim = to_status(ClaimFactory(company=company), ClaimStatus.DENIED)
    with pytest.raises(ServiceError):
        services.resubmit_claim(claim, "  ")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DENIED
    services.resubmit_claim(claim, "Added the secondary diagnosis")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PENDING
    assert claim.correction_note == "Added the secondary diagnosis"
    assert claim.submission_count == 2
    assert (claim.denial_group, claim.denial_code, claim.denial_reason) == ("", "", "")
    services.mark_processing(claim)
    services.approve_claim(claim, allowed="700.00")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED


def test_a_claim_with_payments_cannot_be_voided(company):
    claim = to_status(ClaimFactory(company=company), ClaimStatus.APPROVED)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("100.00"))
    services.post_payment(payment, [{"claim": claim, "amount": "100.00"}])
    with pytest.raises(InvalidTransition) as caught:
        services.void_claim(claim)
    assert caught.value.code == "has_payments"
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED


# Approval amounts ----------------------------------------------------------------------


def test_the_allowed_total_is_spread_over_the_lines_by_charge(company):
    claim = ClaimFactory(
        company=company,
        lines=[
            claim_line(charge=Decimal("100.00")),
            claim_line(hcpcs="A7030", modifiers=[], charge=Decimal("200.00")),
            claim_line(hcpcs="A7037", modifiers=[], charge=Decimal("33.33")),
        ],
    )
    to_status(claim, ClaimStatus.PROCESSING)
    services.approve_claim(claim, allowed="100.00")
    claim.refresh_from_db()
    allowed = [line.allowed_amount for line in claim.lines.order_by("line_number")]
    assert allowed == [Decimal("30.00"), Decimal("60.00"), Decimal("10.00")]
    assert claim.allowed_amount == sum(allowed) == Decimal("100.00")


def test_line_by_line_allowed_amounts(company):
    claim = ClaimFactory(
        company=company,
        lines=[claim_line(charge=Decimal("100.00")), claim_line(charge=Decimal("50.00"))],
    )
    to_status(claim, ClaimStatus.PROCESSING)
    services.approve_claim(claim, line_allowed={1: "80.00", 2: "40.00"})
    claim.refresh_from_db()
    assert claim.allowed_amount == Decimal("120.00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"allowed": "900.00"},  # more than the charge
        {"allowed": "0"},
        {"allowed": "-5"},
        {"allowed": "10.001"},
        {"allowed": "ten"},
        {"line_allowed": {}},
        {"line_allowed": {1: "900.00"}},
        {"line_allowed": {1: "10.00", 7: "1.00"}},
        {"allowed": "10.00", "line_allowed": {1: "10.00"}},
    ],
)
def test_bad_allowed_amounts_are_refused_unchanged(company, kwargs):
    claim = to_status(ClaimFactory(company=company), ClaimStatus.PROCESSING)
    with pytest.raises(ServiceError):
        services.approve_claim(claim, **kwargs)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING
    assert claim.allowed_amount == Decimal("0.00")


# Timely filing ---------------------------------------------------------------------------


def late_claim(company, days_late=10):
    limit = 365
    service_day = timezone.localdate() - datetime.timedelta(days=limit + days_late)
    return ClaimFactory(company=company, lines=[claim_line(date_of_service=service_day)])


def test_a_claim_on_the_last_day_is_in_time(company):
    service_day = timezone.localdate() - datetime.timedelta(days=365)
    claim = ClaimFactory(company=company, lines=[claim_line(date_of_service=service_day)])
    assert services.filing_deadline(claim) == timezone.localdate()
    services.submit_claim(claim)


def test_a_late_claim_is_refused(company, personas):
    claim = late_claim(company)
    with pytest.raises(ServiceError) as caught:
        services.submit_claim(claim, personas[Role.BILLING])
    assert caught.value.code == "timely_filing"
    assert "365 days" in caught.value.message
    assert "10 day(s) ago" in caught.value.message
    claim.refresh_from_db()
    assert claim.submitted_at is None


def test_billing_overrides_timely_filing_with_a_reason_and_it_is_recorded(company, personas):
    claim = late_claim(company)
    biller = personas[Role.BILLING]
    services.submit_claim(claim, biller, override_reason="Retroactive Medicare eligibility")
    claim.refresh_from_db()
    assert claim.submitted_at is not None
    assert claim.timely_filing_override_by == biller
    assert claim.timely_filing_override_reason == "Retroactive Medicare eligibility"
    assert claim.timely_filing_override_at is not None


def test_an_administrator_may_override_too(company, personas):
    claim = late_claim(company)
    services.submit_claim(claim, personas[Role.ADMINISTRATOR], override_reason="Payer delay")


@pytest.mark.parametrize("role", [Role.INTAKE, Role.CLINICIAN, Role.WAREHOUSE, Role.AUDITOR])
def test_other_roles_cannot_override(company, personas, role):
    claim = late_claim(company)
    with pytest.raises(ServiceError) as caught:
        services.submit_claim(claim, personas[role], override_reason="Please")
    assert "Only the Billing role" in caught.value.message
    claim.refresh_from_db()
    assert claim.submitted_at is None
    assert claim.timely_filing_override_reason == ""


def test_a_biller_of_another_company_cannot_override(company, other_company):
    claim = late_claim(company)
    outsider = member(other_company, Role.BILLING)
    with pytest.raises(ServiceError):
        services.submit_claim(claim, outsider, override_reason="Payer delay")


def test_a_late_resubmission_needs_the_override_too(company, personas):
    claim = to_status(late_claim(company, days_late=0), ClaimStatus.DENIED)
    claim.lines.update(date_of_service=timezone.localdate() - datetime.timedelta(days=400))
    with pytest.raises(ServiceError):
        services.resubmit_claim(claim, "Fixed the modifier")
    services.resubmit_claim(
        claim, "Fixed the modifier", personas[Role.BILLING], override_reason="Original was timely"
    )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PENDING


def test_the_payers_own_limit_applies(company):
    claim = ClaimFactory(
        company=company,
        lines=[claim_line(date_of_service=timezone.localdate() - datetime.timedelta(days=100))],
    )
    claim.payer.timely_filing_days = 90
    claim.payer.save()
    with pytest.raises(ServiceError):
        services.submit_claim(claim)
