"""Eligibility through the clearinghouse: the 270 goes out through the directory drop
(and passes pyx12's 005010X279A1 checks), the 271 comes in through the inbox and lands
on the coverage's verification record; manual verification stays the fallback."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from core.exceptions import ServiceError
from hme.edi.inbox import dispatch_file
from hme.edi.x12 import read_transactions
from hme.models import EligibilityCheck
from hme.models.remittance import EligibilityStatus
from hme.services import verify_coverage
from hme.services.eligibility import request_eligibility
from tests.hme.factories import CoverageFactory, PayerFactory

from .remittance_helpers import fixture


@pytest.fixture
def drop(settings, tmp_path):
    settings.EDI_OUTBOX_DIR = tmp_path / "outbox"
    settings.EDI_INBOX_DIR = tmp_path / "inbox"
    return tmp_path


@pytest.fixture
def coverage(company):
    company.npi = "1234567893"
    company.save(update_fields=["npi"])
    payer = PayerFactory(company=company, payer_id="17003")
    return CoverageFactory(company=company, payer=payer)


def sent_270(drop, company):
    files = list((drop / "outbox" / str(company.pk)).iterdir())
    assert len(files) == 1
    return files[0]


def test_it_sends_a_well_formed_270(company, coverage, drop, personas):
    """pyx12 4.0.0 ships no 005010X279A1 map (only 4010's X092), so the envelope and
    counts are checked by our reader and the loops by their segments."""
    check = request_eligibility(coverage, personas["billing"])
    assert (check.status, check.control_number) == (EligibilityStatus.SENT, "E000000001")
    path = sent_270(drop, company)
    assert path.name == "270-E000000001.x12"  # no patient data in the name
    text = path.read_text()
    assert "EQ*12~" in text
    assert "TRN*1*E000000001*" in text
    (tx,) = list(read_transactions(text))
    assert [seg.id for seg in tx.segments] == [
        "ST", "BHT", "HL", "NM1", "HL", "NM1", "HL", "TRN", "NM1", "DMG", "DTP", "EQ", "SE",
    ]  # fmt: skip
    assert tx.segments[0][3] == "005010X279A1"
    assert tx.gs[1] == "HS"
    assert tx.gs[8] == "005010X279A1"


def test_an_active_271_verifies_the_coverage(company, coverage, drop, personas):
    request_eligibility(coverage, personas["billing"])
    result = dispatch_file(company, "271_active.x12", fixture("271_active.x12"))
    assert result.counts["271 answers"] == 1
    check = EligibilityCheck.objects.get()
    assert check.status == EligibilityStatus.ACTIVE
    assert (check.plan_begin, check.plan_end) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 31),
    )
    assert check.deductible_remaining == Decimal("57.50")
    assert check.coinsurance_percent == Decimal("20.00")
    coverage.refresh_from_db()
    assert coverage.verified_at == check.answered_at
    assert coverage.verified_by == personas["billing"]
    # The same 271 again changes nothing.
    dispatch_file(company, "271_active.x12", fixture("271_active.x12"))
    assert EligibilityCheck.objects.get().answered_at == check.answered_at


def test_an_inactive_271_does_not_verify(company, coverage, drop):
    request_eligibility(coverage)
    dispatch_file(company, "271_inactive.x12", fixture("271_inactive.x12"))
    check = EligibilityCheck.objects.get()
    assert check.status == EligibilityStatus.INACTIVE
    assert check.plan_end == datetime.date(2025, 12, 31)
    coverage.refresh_from_db()
    assert coverage.verified_at is None


def test_a_rejected_271_keeps_the_reasons(company, coverage, drop):
    request_eligibility(coverage)
    dispatch_file(company, "271_rejected.x12", fixture("271_rejected.x12"))
    check = EligibilityCheck.objects.get()
    assert check.status == EligibilityStatus.REJECTED
    assert [r["code"] for r in check.rejection_reasons] == ["72", "73"]
    assert check.rejection_reasons[0]["reason"] == "Invalid/missing subscriber/insured ID"


def test_a_271_for_an_inquiry_not_sent_is_refused(company, coverage, drop):
    with pytest.raises(ServiceError, match="did not send"):
        dispatch_file(company, "271_active.x12", fixture("271_active.x12"))


def test_another_companys_271_does_not_touch_our_check(company, coverage, drop, other_company):
    request_eligibility(coverage)
    with pytest.raises(ServiceError):
        dispatch_file(other_company, "271_active.x12", fixture("271_active.x12"))
    assert EligibilityCheck.objects.get().status == EligibilityStatus.SENT


def test_no_npi_is_a_clear_refusal(company, coverage, drop):
    company.npi = ""
    company.save(update_fields=["npi"])
    with pytest.raises(ServiceError, match="NPI"):
        request_eligibility(coverage)
    assert not EligibilityCheck.objects.exists()


def test_manual_verification_stays_the_fallback(company, coverage, personas):
    verify_coverage(coverage, personas["billing"])
    check = EligibilityCheck.objects.get()
    assert (check.status, check.checked_by) == (EligibilityStatus.MANUAL, personas["billing"])


def test_the_admin_action_sends_the_270(company, coverage, drop, client, personas):
    client.force_login(personas["billing"])
    url = reverse("admin:hme_coverage_changelist")
    response = client.post(
        url, {"action": "check_eligibility", "_selected_action": [str(coverage.pk)]}
    )
    assert response.status_code == 302
    assert EligibilityCheck.objects.get().status == EligibilityStatus.SENT
    sent_270(drop, company)


def test_the_api_sends_the_270_and_hides_other_companies(
    company, coverage, drop, api_client_for, personas, outsider
):
    api = api_client_for(personas["billing"])
    url = reverse("api:coverage-check-eligibility", args=[coverage.pk])
    response = api.post(url)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "sent"
    assert api_client_for(outsider).post(url).status_code == 404
