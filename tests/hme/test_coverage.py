"""Payers, coverage (MBI, one active per priority, dates, eligibility) and prior
authorizations (units, windows, status)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import InvalidTransition, ServiceError
from hme import services
from hme.choices import AuthorizationStatus, CoveragePriority
from hme.models import Authorization, Coverage
from hme.rules import default_auth_end, requires_prior_auth
from tests.clinical.factories import PatientFactory
from tests.hme.factories import (
    AuthorizationFactory,
    CommercialPayerFactory,
    CoverageFactory,
    PayerFactory,
)

TODAY = timezone.localdate()


def test_a_medicare_member_id_must_be_a_valid_mbi(company):
    coverage = CoverageFactory.build(
        company=company,
        patient=PatientFactory(company=company),
        payer=PayerFactory(company=company),
        member_id="1EG4-TE5-MK7S",
    )
    with pytest.raises(ValidationError) as caught:
        coverage.full_clean()
    messages = caught.value.message_dict["member_id"]
    assert "Medicare needs a valid MBI" in messages[0]
    assert "position 11" in messages[0]
    assert "1EG4" not in messages[0]  # never the identifier itself


def test_an_mbi_is_stored_without_dashes_in_upper_case(company):
    coverage = CoverageFactory(company=company, member_id="1eg4-te5-mk73")
    coverage.refresh_from_db()
    assert coverage.member_id == "1EG4TE5MK73"
    assert Coverage.objects.filter_blind("member_id", "1EG4-TE5-MK73").get() == coverage


def test_a_commercial_member_id_is_free_form(company):
    coverage = CoverageFactory.build(
        company=company,
        patient=PatientFactory(company=company),
        payer=CommercialPayerFactory(company=company),
        member_id="W123-456 789",
    )
    coverage.full_clean()


def test_termination_must_follow_the_effective_date(company):
    coverage = CoverageFactory(company=company)
    coverage.termination_date = coverage.effective_date
    with pytest.raises(ValidationError):
        coverage.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        coverage.save()


def test_active_means_in_force_today(company):
    open_ended = CoverageFactory(company=company)
    ended = CoverageFactory(
        company=company,
        effective_date=TODAY - datetime.timedelta(days=400),
        termination_date=TODAY - datetime.timedelta(days=1),
    )
    future = CoverageFactory(company=company, effective_date=TODAY + datetime.timedelta(days=5))
    assert [open_ended.is_active, ended.is_active, future.is_active] == [True, False, False]


def test_one_active_coverage_per_patient_and_priority_in_the_database(company):
    first = CoverageFactory(company=company)
    second = CoverageFactory.build(
        company=company, patient=first.patient, payer=first.payer, member_id="2EG4TE5MK73"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    second.priority = CoveragePriority.SECONDARY
    second.save()


def test_overlapping_policies_of_one_priority_are_refused_by_validation(company):
    first = CoverageFactory(company=company, effective_date=datetime.date(2024, 1, 1))
    overlapping = CoverageFactory.build(
        company=company,
        patient=first.patient,
        payer=CommercialPayerFactory(company=company),
        member_id="ABC123",
        effective_date=datetime.date(2025, 6, 1),
    )
    with pytest.raises(ValidationError) as caught:
        overlapping.full_clean()
    assert "overlaps these dates" in caught.value.message_dict["priority"][0]
    # Next year's policy, entered ahead once this one has its end date: accepted.
    first.termination_date = TODAY + datetime.timedelta(days=30)
    first.save()
    overlapping.effective_date = TODAY + datetime.timedelta(days=31)
    overlapping.full_clean()
    overlapping.save()
    assert overlapping.is_active is False


def test_the_daily_refresh_hands_over_from_the_old_policy_to_the_new(company):
    first = CoverageFactory(company=company, termination_date=TODAY + datetime.timedelta(days=9))
    successor = CoverageFactory(
        company=company,
        patient=first.patient,
        member_id="3EG4TE5MK73",
        effective_date=TODAY + datetime.timedelta(days=10),
    )
    assert services.refresh_coverage_status(as_of=TODAY) == {
        "activated": 0,
        "deactivated": 0,
        "conflicts": 0,
    }
    result = services.refresh_coverage_status(as_of=TODAY + datetime.timedelta(days=10))
    assert result == {"activated": 1, "deactivated": 1, "conflicts": 0}
    first.refresh_from_db()
    successor.refresh_from_db()
    assert (first.is_active, successor.is_active) == (False, True)


def test_verifying_eligibility_records_who_and_when(company, personas):
    coverage = CoverageFactory(company=company)
    biller = personas["billing"]
    services.verify_coverage(coverage, biller)
    coverage.refresh_from_db()
    assert coverage.verified_by == biller
    assert timezone.now() - coverage.verified_at < datetime.timedelta(minutes=1)


def test_another_companys_patient_is_refused(company, other_company):
    coverage = CoverageFactory.build(
        company=company,
        patient=PatientFactory(company=other_company),
        payer=PayerFactory(company=company),
    )
    with pytest.raises(ValidationError) as caught:
        coverage.full_clean()
    assert "patient" in caught.value.message_dict


# Authorizations --------------------------------------------------------------------------


def test_the_prior_authorization_table():
    assert requires_prior_auth("K0823").window.months == 6
    assert requires_prior_auth("K0800")
    assert requires_prior_auth("K0864")
    assert requires_prior_auth("K0865") is None
    assert requires_prior_auth("E0277").window.months == 1
    assert requires_prior_auth("E0372")
    assert not requires_prior_auth("E0374")
    assert requires_prior_auth("L1833").window.days == 60
    assert requires_prior_auth("L5856").window.days == 120
    assert requires_prior_auth("E0601") is None
    assert default_auth_end(["K0823"], datetime.date(2026, 1, 15)) == datetime.date(2026, 7, 14)
    assert default_auth_end(["E0601"], datetime.date(2026, 1, 15)) is None


def test_units_used_never_exceed_units_approved_in_the_database(company):
    authorization = AuthorizationFactory(company=company, units_approved=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Authorization.objects.filter(pk=authorization.pk).update(units_used=3)


def test_drawing_units_is_conditional(company):
    authorization = AuthorizationFactory(company=company, units_approved=2)
    services.draw_units(authorization, 2)
    with pytest.raises(ServiceError) as caught:
        services.draw_units(authorization, 1)
    assert "0 unit(s) left" in caught.value.message
    authorization.refresh_from_db()
    assert authorization.units_used == 2


def test_hcpcs_codes_are_validated(company):
    authorization = AuthorizationFactory.build(
        company=company,
        coverage=CoverageFactory(company=company),
        hcpcs_codes=["k0823", "K08"],
    )
    with pytest.raises(ValidationError) as caught:
        authorization.full_clean()
    assert caught.value.message_dict["hcpcs_codes"][0].startswith("K08:")


def requested(company, codes=("K0823",)):
    return AuthorizationFactory(
        company=company,
        hcpcs_codes=list(codes),
        status=AuthorizationStatus.REQUESTED,
        number="",
        valid_from=None,
        valid_to=None,
        units_approved=0,
    )


def test_approval_defaults_to_the_designs_window(company):
    authorization = services.approve_authorization(
        requested(company), number="UTN1", units_approved=1, valid_from=datetime.date(2026, 3, 1)
    )
    assert authorization.status == AuthorizationStatus.APPROVED
    assert authorization.valid_to == datetime.date(2026, 8, 31)
    assert authorization.decided_at is not None


def test_approval_without_a_window_needs_the_end_date(company):
    authorization = requested(company, codes=("E0601",))
    with pytest.raises(ServiceError):
        services.approve_authorization(
            authorization, number="N1", units_approved=1, valid_from=TODAY
        )
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.REQUESTED


def test_authorization_transitions(company):
    denied = services.deny_authorization(requested(company), note="Face-to-face note missing")
    assert denied.status == AuthorizationStatus.DENIED
    with pytest.raises(InvalidTransition):
        services.approve_authorization(
            denied, number="X", units_approved=1, valid_from=TODAY, valid_to=TODAY
        )
    approved = AuthorizationFactory(company=company)
    with pytest.raises(InvalidTransition):
        services.deny_authorization(approved)


def test_expiry_runs_on_approved_authorizations_past_their_end(company):
    old = AuthorizationFactory(
        company=company,
        valid_from=TODAY - datetime.timedelta(days=200),
        valid_to=TODAY - datetime.timedelta(days=1),
    )
    current = AuthorizationFactory(company=company)
    assert services.expire_authorizations(as_of=TODAY) == 1
    old.refresh_from_db()
    current.refresh_from_db()
    assert (old.status, current.status) == (
        AuthorizationStatus.EXPIRED,
        AuthorizationStatus.APPROVED,
    )
    assert services.expire_authorizations(as_of=TODAY) == 0
