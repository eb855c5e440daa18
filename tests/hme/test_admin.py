"""The billing admin: worklist filters, actions through the services, claims and
payments saved through the services, eligibility, query counts, access log."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core.models import AccessLog
from hme import services
from hme.choices import ClaimStatus
from hme.models import Claim, Payment, PaymentAllocation
from tests.clinical.factories import DiagnosisFactory
from tests.hme.factories import ClaimFactory, CoverageFactory, PaymentFactory, claim_line

CHANGELIST = "admin:hme_claim_changelist"


@pytest.fixture
def biller(personas):
    return personas[Role.BILLING]


@pytest.fixture
def staff(client, biller):
    client.force_login(biller)
    return client


def listed(response):
    return [row.number for row in response.context["cl"].result_list]


def processing_claim(company, **kwargs):
    claim = ClaimFactory(company=company, **kwargs)
    services.submit_claim(claim)
    return services.mark_processing(claim)


def post_action(client, action, claims, **data):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, ACTION_CHECKBOX_NAME: [str(c.pk) for c in claims], **data},
        follow=True,
    )


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# The worklist ----------------------------------------------------------------------------


def test_the_worklist_lists_claims_with_their_columns(staff, company):
    claim = ClaimFactory(company=company)
    response = staff.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert listed(response) == [claim.number]
    content = response.content.decode()
    assert claim.patient.number in content
    assert "850.00" in content


def test_its_query_count_does_not_grow_with_rows(staff, company):
    payer_claim = ClaimFactory(company=company)
    with CaptureQueriesContext(connection) as one:
        assert staff.get(reverse(CHANGELIST)).status_code == 200
    for _ in range(49):
        ClaimFactory(company=company, coverage__payer=payer_claim.payer)
    with CaptureQueriesContext(connection) as fifty:
        response = staff.get(reverse(CHANGELIST))
    assert len(listed(response)) == 50
    assert len(fifty) == len(one), [q["sql"] for q in fifty.captured_queries]


def test_other_companies_claims_are_not_listed(staff, company, other_company):
    ClaimFactory(company=other_company)
    mine = ClaimFactory(company=company)
    assert listed(staff.get(reverse(CHANGELIST))) == [mine.number]


def test_age_buckets_filter_by_days_since_submission(staff, company):
    now = timezone.now()
    ages = {}
    for days in (0, 30, 31, 60, 61, 90, 91, 400):
        claim = ClaimFactory(company=company)
        Claim.objects.filter(pk=claim.pk).update(submitted_at=now - datetime.timedelta(days=days))
        ages[days] = claim.number
    ClaimFactory(company=company)  # never submitted: in no bucket
    expected = {
        "0-30": {ages[0], ages[30]},
        "31-60": {ages[31], ages[60]},
        "61-90": {ages[61], ages[90]},
        "90+": {ages[91], ages[400]},
    }
    for bucket, numbers in expected.items():
        response = staff.get(reverse(CHANGELIST), {"age": bucket})
        assert set(listed(response)) == numbers, bucket


def test_the_denial_filter_offers_the_codes_found(staff, company):
    denied = processing_claim(company)
    services.deny_claim(denied, "CO", "50")
    ClaimFactory(company=company)
    response = staff.get(reverse(CHANGELIST))
    assert "CO-50 These are non-covered" in response.content.decode()
    response = staff.get(reverse(CHANGELIST), {"denial": "CO-50"})
    assert listed(response) == [denied.number]


def test_status_and_search_by_claim_number_or_patient(staff, company):
    first = ClaimFactory(company=company)
    second = processing_claim(company)
    assert listed(staff.get(reverse(CHANGELIST), {"status__exact": "processing"})) == [
        second.number
    ]
    assert listed(staff.get(reverse(CHANGELIST), {"q": first.number.lower()})) == [first.number]
    assert listed(staff.get(reverse(CHANGELIST), {"q": second.patient.number})) == [second.number]


def test_late_unsent_claims_are_flagged(staff, company):
    late_day = timezone.localdate() - datetime.timedelta(days=400)
    ClaimFactory(company=company, lines=[claim_line(date_of_service=late_day)])
    assert "LATE since" in staff.get(reverse(CHANGELIST)).content.decode()


# Actions ---------------------------------------------------------------------------------


def test_submit_and_mark_processing_actions_report_per_claim(staff, company):
    ready = ClaimFactory(company=company)
    late = ClaimFactory(
        company=company,
        lines=[claim_line(date_of_service=timezone.localdate() - datetime.timedelta(days=400))],
    )
    response = post_action(staff, "submit", [ready, late])
    texts = messages_of(response)
    assert "1 claim(s) submitted." in texts
    assert any(late.number in t and "timely filing limit" in t for t in texts)
    response = post_action(staff, "mark_processing", [ready, late])
    ready.refresh_from_db()
    assert ready.status == ClaimStatus.PROCESSING
    assert any("has not been submitted" in t for t in messages_of(response))


def test_submit_with_override_asks_for_the_reason_then_records_it(staff, company, biller):
    late = ClaimFactory(
        company=company,
        lines=[claim_line(date_of_service=timezone.localdate() - datetime.timedelta(days=400))],
    )
    page = post_action(staff, "submit_with_override", [late])
    assert page.status_code == 200
    assert "Timely filing override reason" in page.content.decode()
    post_action(staff, "submit_with_override", [late], apply="1", override_reason="Retro MBI")
    late.refresh_from_db()
    assert late.submitted_at is not None
    assert late.timely_filing_override_by == biller


def test_approve_asks_each_claims_allowed_amount(staff, company):
    claim = processing_claim(company)
    page = post_action(staff, "approve", [claim])
    assert f"Allowed for {claim.number}" in page.content.decode()
    too_much = post_action(staff, "approve", [claim], apply="1", **{f"allowed_{claim.pk}": "9999"})
    assert too_much.status_code == 200
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING
    post_action(staff, "approve", [claim], apply="1", **{f"allowed_{claim.pk}": "612.50"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    assert claim.allowed_amount == Decimal("612.50")


def test_deny_resubmit_and_void_take_their_inputs(staff, company):
    claim = processing_claim(company)
    bad = post_action(staff, "deny", [claim], apply="1", group="CO", code="12345")
    assert bad.status_code == 200
    assert "CARC" in bad.content.decode()
    post_action(staff, "deny", [claim], apply="1", group="CO", code="16", text="No SWO")
    claim.refresh_from_db()
    assert (claim.status, claim.denial_code, claim.denial_reason) == ("denied", "16", "No SWO")
    post_action(staff, "resubmit", [claim], apply="1", correction_note="SWO attached")
    claim.refresh_from_db()
    assert (claim.status, claim.correction_note) == ("pending", "SWO attached")
    post_action(staff, "void", [claim], apply="1", reason="Patient changed plans")
    claim.refresh_from_db()
    assert (claim.status, claim.void_reason) == ("void", "Patient changed plans")


def test_an_auditor_cannot_run_actions(client, personas, company):
    claim = ClaimFactory(company=company)
    client.force_login(personas[Role.AUDITOR])
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    post_action(client, "submit", [claim])
    claim.refresh_from_db()
    assert claim.submitted_at is None


# Creating and correcting claims ------------------------------------------------------------


def line_form(prefix, index, **values):
    return {f"{prefix}-{index}-{name}": value for name, value in values.items()}


def claim_form(coverage, location, lines, initial=0, **header):
    data = {
        "patient": str(coverage.patient.pk),
        "coverage": str(coverage.pk),
        "billing_location": str(location.pk),
        "referring_provider": "",
        "diagnosis_codes": "G47.33",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "allocations-TOTAL_FORMS": "0",
        "allocations-INITIAL_FORMS": "0",
        **header,
    }
    for index, line in enumerate(lines):
        data.update(line_form("lines", index, **line))
    return data


def test_no_claim_is_added_by_hand_in_the_admin(staff, company, location):
    coverage = CoverageFactory(company=company)
    DiagnosisFactory(company=company, patient=coverage.patient)
    lines = [
        {
            "date_of_service": timezone.localdate().isoformat(),
            "hcpcs": "e0601",
            "modifiers": "nu",
            "units": "1",
            "charge": "850.00",
            "diagnosis_pointers": "1",
            "description": "CPAP",
        }
    ]
    response = staff.post(reverse("admin:hme_claim_add"), claim_form(coverage, location, lines))
    assert response.status_code == 403
    assert not Claim.objects.exists()


def test_a_line_typed_into_a_claim_is_refused_and_the_input_kept(staff, company):
    claim = ClaimFactory(company=company)
    line = claim.lines.get()
    existing = {
        "id": str(line.pk),
        "claim": str(claim.pk),
        "date_of_service": line.date_of_service.isoformat(),
        "hcpcs": "E0601",
        "modifiers": "NU",
        "units": "1",
        "charge": str(line.charge),
        "diagnosis_pointers": "1",
        "description": "",
    }
    typed = {
        "claim": str(claim.pk),
        "date_of_service": line.date_of_service.isoformat(),
        "hcpcs": "A7030",
        "modifiers": "",
        "units": "1",
        "charge": "165.17",
        "diagnosis_pointers": "1",
        "description": "Mask",
    }
    data = claim_form(claim.coverage, claim.billing_location, [existing, typed], initial=1)
    data.pop("patient")
    response = staff.post(reverse("admin:hme_claim_change", args=[claim.pk]), data)
    assert response.status_code == 200
    assert "bills nothing" in response.content.decode()
    assert 'value="165.17"' in response.content.decode()
    assert list(claim.lines.values_list("hcpcs", flat=True)) == ["E0601"]


def test_a_pending_claim_is_corrected_in_the_admin(staff, company):
    claim = ClaimFactory(company=company)
    line = claim.lines.get()
    data = claim_form(
        claim.coverage,
        claim.billing_location,
        [
            {
                "id": str(line.pk),
                "claim": str(claim.pk),
                "date_of_service": line.date_of_service.isoformat(),
                "hcpcs": "E0601",
                "modifiers": "NU KX",
                "units": "1",
                "charge": "900.00",
                "diagnosis_pointers": "1",
                "description": "",
            }
        ],
        initial=1,
    )
    data.pop("patient")
    response = staff.post(reverse("admin:hme_claim_change", args=[claim.pk]), data, follow=True)
    assert response.status_code == 200, response.content
    claim.refresh_from_db()
    assert claim.total_charge == Decimal("900.00")
    assert claim.lines.get().modifiers == ["NU", "KX"]


def test_viewing_a_claim_is_access_logged(staff, company, biller):
    claim = ClaimFactory(company=company)
    assert staff.get(reverse("admin:hme_claim_change", args=[claim.pk])).status_code == 200
    assert AccessLog.objects.filter(object_id=str(claim.pk), user=biller, via="admin").exists()


# Payments ----------------------------------------------------------------------------------


def approved_claim(company, payer=None):
    kwargs = {"coverage__payer": payer} if payer else {}
    claim = processing_claim(company, **kwargs)
    return services.approve_claim(claim, allowed=claim.total_charge)


def payment_form(payment_fields, allocations, *, posted=0):
    data = {
        **payment_fields,
        "allocations-TOTAL_FORMS": str(posted),
        "allocations-INITIAL_FORMS": str(posted),
        "allocations-MIN_NUM_FORMS": "0",
        "allocations-MAX_NUM_FORMS": "1000",
        "allocations-2-TOTAL_FORMS": str(len(allocations)),
        "allocations-2-INITIAL_FORMS": "0",
        "allocations-2-MIN_NUM_FORMS": "0",
        "allocations-2-MAX_NUM_FORMS": "1000",
    }
    for index, allocation in enumerate(allocations):
        data.update(line_form("allocations-2", index, **allocation))
    return data


def test_a_payment_is_posted_with_its_allocations_in_the_admin(staff, company):
    claim = approved_claim(company)
    fields = {
        "payer": str(claim.payer.pk),
        "method": "eft",
        "number": "EFT-2026-0001",
        "paid_date": timezone.localdate().isoformat(),
        "amount": "850.00",
        "note": "",
    }
    allocations = [
        {"claim": str(claim.pk), "line_number": "1", "amount": "700.00", "adjustments": "PR-2 150"}
    ]
    response = staff.post(
        reverse("admin:hme_payment_add"), payment_form(fields, allocations), follow=True
    )
    assert response.status_code == 200
    payment = Payment.objects.get()
    assert payment.allocated_amount == Decimal("700.00")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert claim.patient_responsibility == Decimal("150.00")


def test_over_posting_in_the_admin_is_a_form_error_and_writes_nothing(staff, company):
    claim = approved_claim(company)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("100.00"))
    fields = {
        "payer": str(claim.payer.pk),
        "method": "eft",
        "number": payment.number,
        "paid_date": payment.paid_date.isoformat(),
        "amount": "100.00",
        "note": "",
    }
    allocations = [
        {"claim": str(claim.pk), "line_number": "", "amount": "100.01", "adjustments": ""}
    ]
    response = staff.post(
        reverse("admin:hme_payment_change", args=[payment.pk]), payment_form(fields, allocations)
    )
    assert response.status_code == 200
    assert "Over-posting" in response.content.decode()
    assert not PaymentAllocation.objects.exists()


def test_malformed_adjustments_are_form_errors(staff, company):
    claim = approved_claim(company)
    payment = PaymentFactory(company=company, payer=claim.payer)
    fields = {
        "payer": str(claim.payer.pk),
        "method": "eft",
        "number": payment.number,
        "paid_date": payment.paid_date.isoformat(),
        "amount": str(payment.amount),
        "note": "",
    }
    allocations = [{"claim": str(claim.pk), "amount": "10.00", "adjustments": "XX-45 10; CO-45"}]
    response = staff.post(
        reverse("admin:hme_payment_change", args=[payment.pk]), payment_form(fields, allocations)
    )
    assert "write group-code amount" in response.content.decode()
    assert not PaymentAllocation.objects.exists()


def test_viewing_a_payment_logs_its_allocations(staff, company, biller):
    claim = approved_claim(company)
    payment = PaymentFactory(company=company, payer=claim.payer)
    services.post_payment(payment, [{"claim": claim, "amount": "10.00"}])
    assert staff.get(reverse("admin:hme_payment_change", args=[payment.pk])).status_code == 200
    allocation = PaymentAllocation.objects.get()
    assert AccessLog.objects.filter(object_id=str(allocation.pk), user=biller).exists()


def test_the_payment_list_query_count_is_constant(staff, company):
    PaymentFactory(company=company)
    with CaptureQueriesContext(connection) as one:
        staff.get(reverse("admin:hme_payment_changelist"))
    for _ in range(49):
        PaymentFactory(company=company)
    with CaptureQueriesContext(connection) as fifty:
        staff.get(reverse("admin:hme_payment_changelist"))
    assert len(fifty) == len(one)


# Coverage ----------------------------------------------------------------------------------


def test_verify_eligibility_action(staff, company, biller):
    coverage = CoverageFactory(company=company)
    response = staff.post(
        reverse("admin:hme_coverage_changelist"),
        {"action": "verify_eligibility", ACTION_CHECKBOX_NAME: [str(coverage.pk)]},
        follow=True,
    )
    assert "1 coverage(s) marked verified." in messages_of(response)
    coverage.refresh_from_db()
    assert coverage.verified_by == biller


def test_the_coverage_list_masks_member_ids_and_counts_queries(staff, company):
    coverage = CoverageFactory(company=company, member_id="7QC8NK4XV92")
    with CaptureQueriesContext(connection) as one:
        response = staff.get(reverse("admin:hme_coverage_changelist"))
    content = response.content.decode()
    assert "7QC8NK4XV92" not in content
    assert "•••XV92" in content
    for _ in range(49):
        CoverageFactory(company=company)
    with CaptureQueriesContext(connection) as fifty:
        staff.get(reverse("admin:hme_coverage_changelist"))
    assert len(fifty) == len(one)
    assert coverage.pk


@pytest.mark.parametrize("status", ["pending", "approved", "paid"])
def test_every_claim_page_renders(staff, company, status):
    claim = processing_claim(company) if status != "pending" else ClaimFactory(company=company)
    if status in ("approved", "paid"):
        services.approve_claim(claim, allowed=claim.total_charge)
    if status == "paid":
        payment = PaymentFactory(company=company, payer=claim.payer, amount=claim.total_charge)
        services.post_payment(payment, [{"claim": claim, "amount": claim.total_charge}])
        page = staff.get(reverse("admin:hme_payment_change", args=[payment.pk]))
        assert page.status_code == 200
        assert claim.number in page.content.decode()
    response = staff.get(reverse("admin:hme_claim_change", args=[claim.pk]))
    assert response.status_code == 200
    for name in ("payer", "coverage", "authorization"):
        assert staff.get(reverse(f"admin:hme_{name}_changelist")).status_code == 200
    assert staff.get(reverse("admin:hme_claim_add")).status_code == 403
    assert staff.get(reverse("admin:hme_payment_add")).status_code == 200


def test_a_failed_claim_action_keeps_the_typed_input(staff, company):
    claim = processing_claim(company)
    bad = post_action(staff, "deny", [claim], apply="1", group="PR", code="12345", text="No SWO")
    form = bad.context["form"]
    assert form.errors
    assert (form["group"].value(), form["text"].value()) == ("PR", "No SWO")
    assert bad.context["rows"][0][1][0] == claim.number
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING


def test_a_claim_action_refused_for_every_claim_names_each(staff, company):
    claim = processing_claim(company)
    services.void_claim(claim, "Entered twice")
    again = post_action(staff, "void", [claim], apply="1", reason="Still twice")
    assert again.status_code == 200
    form = again.context["form"]
    assert form["reason"].value() == "Still twice"
    assert [error.split(":")[0] for error in form.non_field_errors()] == [claim.number]
    claim.refresh_from_db()
    assert claim.void_reason == "Entered twice"
