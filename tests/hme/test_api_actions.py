"""Billing API actions: the claim workflow, payment posting, coverage lookup and
verification, authorization decisions, idempotency, filters and permissions."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core.models import AccessLog
from hme import services
from hme.choices import AuthorizationStatus, ClaimStatus
from hme.models import Claim, Payment, PaymentAllocation
from tests.clinical.factories import DiagnosisFactory
from tests.hme.factories import (
    AuthorizationFactory,
    ClaimFactory,
    CoverageFactory,
    DeliveredLineFactory,
    DeliveredOrderFactory,
    PayerFactory,
    PaymentFactory,
    claim_line,
)


@pytest.fixture
def biller(personas):
    return personas[Role.BILLING]


@pytest.fixture
def api(api_client_for, biller):
    return api_client_for(biller)


def claim_url(claim, name):
    return reverse(f"api:claim-{name}", args=[claim.pk])


def error(response):
    return response.json()["error"]


def approved(company, **kwargs):
    claim = ClaimFactory(company=company, **kwargs)
    services.submit_claim(claim)
    services.mark_processing(claim)
    return services.approve_claim(claim, allowed=claim.total_charge)


# The claim workflow ------------------------------------------------------------------------


def test_the_whole_workflow_through_the_api(api, company):
    claim = ClaimFactory(company=company)
    response = api.post(claim_url(claim, "submit"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"
    assert response.json()["submitted_at"]
    assert api.post(claim_url(claim, "mark-processing")).json()["status"] == "processing"
    denied = api.post(claim_url(claim, "deny"), {"group": "CO", "code": "16"}, format="json")
    assert denied.json()["status"] == "denied"
    assert denied.json()["denial"].startswith("CO-16 Claim/service lacks information")
    resubmitted = api.post(
        claim_url(claim, "resubmit"), {"correction_note": "Added the NPI"}, format="json"
    )
    assert resubmitted.json()["status"] == "pending"
    api.post(claim_url(claim, "mark-processing"))
    body = {"lines": [{"line": 1, "allowed": "640.00"}]}
    approved_ = api.post(claim_url(claim, "approve"), body, format="json")
    assert approved_.json()["status"] == "approved"
    assert approved_.json()["allowed_amount"] == "640.00"
    assert approved_.json()["lines"][0]["allowed_amount"] == "640.00"


def test_an_illegal_transition_is_a_409_with_the_reason(api, company):
    claim = ClaimFactory(company=company)
    response = api.post(claim_url(claim, "approve"), {"allowed": "10.00"}, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "invalid_transition"
    assert "pending" in error(response)["message"]


def test_timely_filing_refusal_and_billing_override(api, company, api_client_for, personas):
    late = timezone.localdate() - datetime.timedelta(days=400)
    claim = ClaimFactory(company=company, lines=[claim_line(date_of_service=late)])
    response = api.post(claim_url(claim, "submit"), {}, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == "timely_filing"
    intake = api_client_for(personas[Role.INTAKE])
    assert intake.post(claim_url(claim, "submit"), {"override_reason": "x"}).status_code == 403
    response = api.post(
        claim_url(claim, "submit"), {"override_reason": "Retro eligibility"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["timely_filing_override_reason"] == "Retro eligibility"


def test_bad_action_bodies_are_400s(api, company):
    claim = ClaimFactory(company=company)
    services.submit_claim(claim)
    services.mark_processing(claim)
    assert api.post(claim_url(claim, "approve"), {}, format="json").status_code == 400
    response = api.post(claim_url(claim, "deny"), {"group": "CO", "code": "9999"}, format="json")
    assert response.status_code == 400
    response = api.post(claim_url(claim, "deny"), {"group": "CO", "code": "A"}, format="json")
    assert response.status_code == 400
    assert "code" in error(response)["fields"]
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PROCESSING


def test_claim_actions_replay_with_the_same_idempotency_key(api, company):
    claim = ClaimFactory(company=company)
    first = api.post(claim_url(claim, "submit"), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(claim_url(claim, "submit"), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    claim.refresh_from_db()
    assert claim.submission_count == 1


def test_read_only_roles_cannot_act(api_client_for, personas, company):
    claim = ClaimFactory(company=company)
    for role in (Role.AUDITOR, Role.CLINICIAN):
        response = api_client_for(personas[role]).post(claim_url(claim, "submit"))
        assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.submitted_at is None


def test_another_companys_claim_is_a_404(api_client_for, outsider, company):
    claim = ClaimFactory(company=company)
    response = api_client_for(outsider).post(claim_url(claim, "submit"))
    assert response.status_code == 404


def test_a_claims_lines_are_checked_on_correction(api, company):
    claim = ClaimFactory(company=company)
    line = claim.lines.get()
    url = reverse("api:claim-detail", args=[claim.pk])
    body = {
        "id": str(line.pk),
        "date_of_service": "2026-01-05",
        "hcpcs": "E0601",
        "modifiers": ["NU"],
        "units": 1,
        "charge": "850.00",
        "diagnosis_pointers": [2],
    }
    response = api.patch(url, {"lines": [body]}, format="json")
    assert response.status_code == 400
    assert "points at no diagnosis" in str(error(response)["fields"]["lines"])
    body["diagnosis_pointers"] = [1]
    body["modifiers"] = []
    response = api.patch(url, {"lines": [body]}, format="json")
    assert response.status_code == 400
    assert "NU (new purchase)" in str(error(response)["fields"])
    body["modifiers"] = ["NU"]
    response = api.patch(url, {"lines": [body], "diagnosis_codes": ["J44.9"]}, format="json")
    assert "Not on the patient's active diagnoses: J44.9" in str(error(response)["fields"])
    claim.refresh_from_db()
    assert claim.diagnosis_codes == ["G4733"]
    assert claim.lines.get().charge == line.charge


def test_a_pending_claim_is_corrected_with_patch_and_totals_follow(api, company):
    claim = ClaimFactory(
        company=company, lines=[claim_line(), claim_line(hcpcs="A7030", modifiers=[])]
    )
    first, second = claim.lines.order_by("line_number")
    lines = [
        {
            "id": str(first.pk),
            "date_of_service": "2026-01-05",
            "hcpcs": "E0601",
            "modifiers": ["NU", "KX"],
            "units": 1,
            "charge": "800.00",
            "diagnosis_pointers": [1],
        },
        {
            "id": str(second.pk),
            "date_of_service": "2026-01-05",
            "hcpcs": "A7030",
            "units": 1,
            "charge": "150.00",
            "diagnosis_pointers": [1],
        },
    ]
    response = api.patch(reverse("api:claim-detail", args=[claim.pk]), {"lines": lines})
    assert response.status_code == 200, response.content
    assert response.json()["total_charge"] == "950.00"
    assert [line["line_number"] for line in response.json()["lines"]] == [1, 2]
    assert [line["order_line"] for line in response.json()["lines"]] == [
        str(first.order_line_id),
        str(second.order_line_id),
    ]
    services.submit_claim(claim)
    services.mark_processing(claim)
    response = api.patch(reverse("api:claim-detail", args=[claim.pk]), {"lines": lines})
    assert response.status_code == 409
    assert error(response)["code"] == "not_editable"


def test_billing_a_delivery_through_the_api(api, company):
    order = DeliveredLineFactory(order=DeliveredOrderFactory(company=company)).order
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient)
    url = reverse("api:claim-from-delivery")
    response = api.post(url, {"order": str(order.pk)}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["order"] == str(order.pk)
    again = api.post(url, {"order": str(order.pk)}, format="json")
    assert again.status_code == 409
    assert error(again)["code"] == "already_billed"


def test_billing_another_companys_delivery_is_refused(api, other_company):
    order = DeliveredLineFactory(order=DeliveredOrderFactory(company=other_company)).order
    response = api.post(reverse("api:claim-from-delivery"), {"order": str(order.pk)}, format="json")
    assert response.status_code == 400
    assert "order" in error(response)["fields"]
    assert not Claim.objects.exists()


def test_claim_filters(api, company):
    pending = ClaimFactory(company=company)
    denied = ClaimFactory(company=company)
    services.submit_claim(denied)
    services.mark_processing(denied)
    services.deny_claim(denied, "CO", "50")
    Claim.objects.filter(pk=denied.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=45)
    )
    url = reverse("api:claim-list")

    def numbers(**params):
        response = api.get(url, params)
        assert response.status_code == 200, response.content
        return {row["number"] for row in response.json()["results"]}

    assert numbers(status="denied") == {denied.number}
    assert numbers(status=["denied", "pending"]) == {denied.number, pending.number}
    assert numbers(denial_code="50") == {denied.number}
    assert numbers(age_bucket="31-60") == {denied.number}
    assert numbers(age_bucket="0-30") == set()
    assert numbers(payer=str(pending.payer_id)) == {pending.number}
    assert numbers(patient=str(denied.patient_id)) == {denied.number}
    service_day = pending.lines.get().date_of_service.isoformat()
    assert numbers(date_of_service_after=service_day) == {pending.number, denied.number}
    assert api.get(url, {"age_bucket": "2-3"}).status_code == 400


def test_the_claim_list_with_lines_has_a_constant_query_count(api, company):
    ClaimFactory(company=company, lines=[claim_line(), claim_line(hcpcs="A7030", modifiers=[])])
    url = reverse("api:claim-list")
    with CaptureQueriesContext(connection) as one:
        api.get(url)
    for _ in range(49):
        ClaimFactory(company=company, lines=[claim_line(), claim_line()])
    with CaptureQueriesContext(connection) as fifty:
        response = api.get(url)
    assert len(response.json()["results"]) == 50
    assert len(fifty) == len(one)


# Payments ----------------------------------------------------------------------------------


def test_a_payment_is_recorded_and_posted_in_one_request(api, company):
    claim = approved(company)
    body = {
        "payer": str(claim.payer_id),
        "method": "eft",
        "number": "EFT-777",
        "paid_date": timezone.localdate().isoformat(),
        "amount": "900.00",
        "allocations": [
            {
                "claim": str(claim.pk),
                "amount": "680.00",
                "adjustments": [{"group": "PR", "code": "2", "amount": "170.00"}],
            }
        ],
    }
    response = api.post(reverse("api:payment-list"), body, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["allocated_amount"] == "680.00"
    assert data["unallocated_amount"] == "220.00"
    assert data["allocations"][0]["adjustments"][0]["description"] == "PR-2 Coinsurance amount"
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    again = api.post(reverse("api:payment-list"), body, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert PaymentAllocation.objects.count() == 1


def test_over_posting_through_the_api_writes_nothing(api, company):
    claim = approved(company)
    payment = PaymentFactory(company=company, payer=claim.payer, amount=Decimal("100.00"))
    url = reverse("api:payment-allocate", args=[payment.pk])
    body = {"allocations": [{"claim": str(claim.pk), "amount": "100.01"}]}
    response = api.post(url, body, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == "over_posting"
    assert "$100.00 is left on this payment" in error(response)["message"]
    assert not PaymentAllocation.objects.exists()
    body = {"allocations": [{"claim": str(claim.pk), "amount": "60.00"}]}
    assert api.post(url, body, format="json").json()["allocated_amount"] == "60.00"


def test_a_new_payment_with_a_refused_allocation_is_not_recorded(api, company):
    claim = ClaimFactory(company=company)  # pending: cannot be paid
    body = {
        "payer": str(claim.payer_id),
        "number": "CHK-1",
        "paid_date": timezone.localdate().isoformat(),
        "amount": "50.00",
        "allocations": [{"claim": str(claim.pk), "amount": "50.00"}],
    }
    response = api.post(reverse("api:payment-list"), body, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "claim_not_approved"
    assert not Payment.objects.exists()


def test_allocations_cannot_name_another_companys_claim(api, company, other_company):
    foreign = approved(other_company)
    payment = PaymentFactory(company=company)
    body = {"allocations": [{"claim": str(foreign.pk), "amount": "1.00"}]}
    response = api.post(reverse("api:payment-allocate", args=[payment.pk]), body, format="json")
    assert response.status_code == 400
    assert "claim" in str(error(response)["fields"])


def test_the_payment_list_gives_a_summary_in_constant_queries(api, company, biller):
    claim = approved(company)
    payment = PaymentFactory(company=company, payer=claim.payer)
    services.post_payment(payment, [{"claim": claim, "amount": "10.00"}])
    services.post_payment(payment, [{"claim": claim, "amount": "5.00"}])
    url = reverse("api:payment-list")
    with CaptureQueriesContext(connection) as one:
        rows = api.get(url).json()["results"]
    assert rows[0]["allocation_count"] == 2
    assert rows[0]["allocated_amount"] == "15.00"
    assert "allocations" not in rows[0]
    # The summary names no claim: nothing patient-linked is shown, nothing is logged.
    assert not AccessLog.objects.filter(user=biller).exists()
    for _ in range(49):
        PaymentFactory(company=company)
    with CaptureQueriesContext(connection) as fifty:
        rows = api.get(url).json()["results"]
    assert len(rows) == 50
    assert sorted(row["allocation_count"] for row in rows)[-2:] == [0, 2]
    assert len(fifty) == len(one)


def test_the_payment_detail_gives_and_logs_its_allocations(api, company, biller):
    claim = approved(company)
    payment = PaymentFactory(company=company, payer=claim.payer)
    services.post_payment(
        payment,
        [
            {
                "claim": claim,
                "amount": "10.00",
                "adjustments": [{"group": "CO", "code": "45", "amount": "3.00"}],
            }
        ],
    )
    services.post_payment(payment, [{"claim": claim, "amount": "5.00"}])
    with CaptureQueriesContext(connection) as two:
        data = api.get(reverse("api:payment-detail", args=[payment.pk])).json()
    assert [row["amount"] for row in data["allocations"]] == ["10.00", "5.00"]
    assert data["allocations"][0]["adjustments"][0]["code"] == "45"
    logged = AccessLog.objects.filter(user=biller, action="view")
    assert sorted(logged.values_list("object_id", flat=True)) == sorted(
        str(pk) for pk in PaymentAllocation.objects.values_list("pk", flat=True)
    )
    for _ in range(5):
        services.post_payment(payment, [{"claim": claim, "amount": "1.00"}])
    with CaptureQueriesContext(connection) as seven:
        data = api.get(reverse("api:payment-detail", args=[payment.pk])).json()
    assert len(data["allocations"]) == 7
    assert len(seven) == len(two)


def test_another_companys_payment_detail_is_a_404(api, other_company):
    foreign = PaymentFactory(company=other_company)
    response = api.get(reverse("api:payment-detail", args=[foreign.pk]))
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


# Coverage and authorizations ---------------------------------------------------------------


def test_coverage_lookup_by_member_id_in_the_body(api, company, other_company):
    mine = CoverageFactory(company=company, member_id="7QC8NK4XV92")
    CoverageFactory(company=other_company, member_id="7QC8NK4XV92")
    response = api.post(reverse("api:coverage-lookup"), {"member_id": "7qc8-nk4-xv92"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]


def test_a_medicare_coverage_needs_a_valid_mbi(api, company):
    coverage = CoverageFactory.build(company=company)
    body = {
        "patient": str(CoverageFactory(company=company).patient_id),
        "payer": str(PayerFactory(company=company).pk),
        "member_id": "0EG4TE5MK73",
        "effective_date": "2025-01-01",
        "priority": "secondary",
    }
    response = api.post(reverse("api:coverage-list"), body, format="json")
    assert response.status_code == 400
    assert "position 1" in str(error(response)["fields"]["member_id"])
    assert "0EG4TE5MK73" not in response.content.decode()
    assert coverage.pk


def test_verify_eligibility_through_the_api(api, company, biller):
    coverage = CoverageFactory(company=company)
    response = api.post(reverse("api:coverage-verify", args=[coverage.pk]))
    assert response.status_code == 200
    assert response.json()["verified_by"] == str(biller.pk)


def test_authorization_decisions(api, company):
    requested = AuthorizationFactory(
        company=company,
        status=AuthorizationStatus.REQUESTED,
        number="",
        valid_from=None,
        valid_to=None,
        units_approved=0,
    )
    url = reverse("api:authorization-approve", args=[requested.pk])
    body = {"number": "A1B2C3", "units_approved": 1, "valid_from": "2026-02-01"}
    response = api.post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["valid_to"] == "2026-07-31"
    assert response.json()["status"] == "approved"
    again = api.post(reverse("api:authorization-deny", args=[requested.pk]), {}, format="json")
    assert again.status_code == 409


def test_status_and_money_are_read_only(api, company):
    claim = ClaimFactory(company=company)
    response = api.patch(
        reverse("api:claim-detail", args=[claim.pk]),
        {"status": "paid", "total_charge": "1.00", "paid_amount": "999.00"},
        format="json",
    )
    assert response.status_code == 200
    claim.refresh_from_db()
    assert (claim.status, claim.total_charge, claim.paid_amount) == (
        "pending",
        Decimal("850.00"),
        Decimal("0.00"),
    )
