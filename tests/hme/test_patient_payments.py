"""Patient payments: what a patient pays toward their share is recorded through one
service, applied oldest line first, never more than owed (no credit kept), audited,
shown on the next statement; the admin button and the API are scoped and role-checked."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.exceptions import ServiceError
from core.models import AuditEntry
from hme.choices import ClaimStatus
from hme.models import (
    PatientPayment,
    PatientPaymentAllocation,
    PatientPaymentMethod,
    PatientStatement,
    StatementRun,
)
from hme.services import record_patient_payment
from hme.services.remittance import import_835
from hme.services.statements import open_patient_shares, run_statements
from tests.admin_base import TenantAdminTests
from tests.hme.factories import claim_line

from .remittance_helpers import fixture, medicare, sent_claim

D = Decimal


@pytest.fixture
def billed(company):
    """A paid claim with $136.00 of coinsurance (PR-2) for the patient."""
    claim = sent_claim(company, medicare(company))
    import_835(company, fixture("835_paid.x12"))
    claim.refresh_from_db()
    return claim


def pay(of, amount, **fields):
    """``of``'s patient pays ``amount`` (by check unless told)."""
    fields.setdefault("method", PatientPaymentMethod.CHECK)
    fields.setdefault("reference", f"CHK{PatientPayment.objects.count() + 100}")
    return record_patient_payment(patient=of.patient, amount=amount, **fields)


def test_a_payment_is_applied_to_the_patients_share(company, billed):
    payment = pay(billed, "36.00")
    (allocation,) = payment.allocations.all()
    assert (allocation.claim, allocation.claim_line, allocation.amount) == (
        billed,
        billed.lines.get(),
        D("36.00"),
    )
    (share,) = open_patient_shares(company)
    (line,) = share.lines
    assert (line.patient_paid, line.due) == (D("36.00"), D("100.00"))
    assert share.payments == [payment]
    billed.refresh_from_db()
    assert billed.status == ClaimStatus.PAID  # the payer's part was settled already


def test_paid_in_full_the_share_is_no_longer_open(company, billed):
    pay(billed, "100.00")
    pay(billed, "36.00", method=PatientPaymentMethod.CASH, reference="")
    assert open_patient_shares(company) == []
    assert PatientPaymentAllocation.objects.count() == 2


def test_an_over_payment_is_refused_and_records_nothing(company, billed):
    with pytest.raises(ServiceError) as refused:
        pay(billed, "136.01")
    assert refused.value.code == "over_payment"
    assert "$136.00" in refused.value.message
    assert refused.value.fields == {"amount": ["At most $136.00."]}
    assert PatientPayment.objects.count() == 0


def test_a_patient_who_owes_nothing_cannot_pay(company):
    claim = sent_claim(company, medicare(company))
    with pytest.raises(ServiceError) as refused:
        pay(claim, "1.00")
    assert refused.value.code == "over_payment"
    assert PatientPayment.objects.count() == 0


@pytest.mark.parametrize("amount", ["0", "-5.00", "abc"])
def test_a_bad_amount_is_refused(company, billed, amount):
    with pytest.raises(ServiceError):
        pay(billed, amount)
    assert PatientPayment.objects.count() == 0


def test_a_card_number_is_never_recorded(company, billed):
    with pytest.raises(ServiceError) as refused:
        pay(billed, "10.00", method=PatientPaymentMethod.CARD, reference="4111 1111 1111 1111")
    assert refused.value.code == "card_number"
    assert "4111" not in refused.value.message
    payment = pay(billed, "10.00", method=PatientPaymentMethod.CARD, reference="AUTH77 x1111")
    assert payment.reference == "AUTH77 x1111"


def test_the_same_check_twice_is_refused(company, billed):
    pay(billed, "10.00", reference="1001")
    with pytest.raises(ServiceError):
        pay(billed, "10.00", reference="1001")
    assert PatientPayment.objects.count() == 1


def test_oldest_line_first_and_limited_to_a_claim(company, billed):
    from .remittance_helpers import DOS

    older = billed
    # A second claim of the same patient, a month later, with its own share.
    later = sent_claim(
        company,
        older.payer,
        coverage=older.coverage,
        lines=[claim_line(date_of_service=DOS + datetime.timedelta(days=31), charge=D("100"))],
    )
    from hme.services import approve_claim, post_payment, record_payment

    approve_claim(later, allowed="100.00")
    payment = record_payment(
        company=company, payer=later.payer, number="EFT-2", paid_date=DOS, amount="80.00"
    )
    post_payment(
        payment,
        [
            {
                "claim": later,
                "claim_line": later.lines.get(),
                "amount": "80.00",
                "adjustments": [{"group": "PR", "code": "2", "amount": "20.00"}],
            }
        ],
    )
    first = pay(older, "140.00")
    assert sorted((a.claim.number, a.amount) for a in first.allocations.all()) == sorted(
        [(older.number, D("136.00")), (later.number, D("4.00"))]
    )
    with pytest.raises(ServiceError) as refused:
        pay(older, "16.01", claim=later)
    assert later.number in refused.value.message
    pay(older, "16.00", claim=later)
    assert open_patient_shares(company) == []


def test_another_patients_claim_is_refused(company, billed):
    other = sent_claim(company, billed.payer)
    with pytest.raises(ServiceError):
        record_patient_payment(patient=billed.patient, amount="1.00", method="cash", claim=other)


def test_the_payment_is_audited(company, billed):
    payment = pay(billed, "20.00")
    assert AuditEntry.objects.filter(object_pk=str(payment.pk)).count() == 1
    allocation = payment.allocations.get()
    assert AuditEntry.objects.filter(object_pk=str(allocation.pk)).count() == 1


def test_the_next_statement_shows_the_payment(company, billed):
    first = run_statements(company)
    assert first.total_due == D("136.00")
    pay(billed, "36.00", reference="5150", received_at=timezone.now())
    second = run_statements(company)
    assert second.total_due == D("100.00")
    statement = PatientStatement.objects.get(run=second)
    assert statement.total_due == D("100.00")
    (share,) = open_patient_shares(company)
    assert share.payments == []  # shown once: on the statement after it was received


def test_the_statement_pdf_lists_the_payment(company, billed):
    from hme.services.statements import render_statement

    payment = pay(billed, "36.00", reference="5150")
    (share,) = open_patient_shares(company)
    html_share = share
    assert html_share.payments == [payment]
    from django.template.loader import render_to_string

    html = render_to_string(
        "hme/patient_statement.html",
        {
            "company": company,
            "patient": billed.patient,
            "share": share,
            "as_of": timezone.localdate(),
        },
    )
    assert "Payments received since your last statement" in html
    assert "5150" in html
    assert "$36.00" in html
    assert bytes(render_statement(company, billed.patient, share, timezone.localdate())).startswith(
        b"%PDF"
    )


def test_a_payment_settles_an_approved_claim_by_the_existing_rule(company):
    """Approved, the payer's part covered only with the patient's share: paid."""
    from hme.services import approve_claim, post_payment, record_payment

    claim = sent_claim(company, medicare(company))
    approve_claim(claim, allowed="100.00")
    payment = record_payment(
        company=company,
        payer=claim.payer,
        number="EFT-9",
        paid_date=claim.lines.get().date_of_service,
        amount="50.00",
    )
    post_payment(
        payment,
        [
            {
                "claim": claim,
                "claim_line": claim.lines.get(),
                "amount": "50.00",
                "adjustments": [{"group": "PR", "code": "1", "amount": "50.00"}],
            }
        ],
    )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    pay(claim, "50.00")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    assert open_patient_shares(company) == []


# Admin ------------------------------------------------------------------------------


def make_statement(company):
    from hme.models import Payer

    payer = Payer.objects.filter(company=company, payer_id="17003").first() or medicare(company)
    claim = sent_claim(company, payer)
    run = StatementRun.objects.create(company=company, as_of=timezone.localdate())
    return PatientStatement.objects.create(
        company=company, run=run, patient=claim.patient, total_due=D("0.00"), pdf=b"%PDF"
    )


class TestPatientStatementAdmin(TenantAdminTests):
    model = PatientStatement
    add_roles = ()
    change_roles = ()
    rows_for_query_check = 3

    def make(self, company, **fields):
        return make_statement(company)


class TestPatientPaymentAdmin(TenantAdminTests):
    model = PatientPayment
    add_roles = ()
    change_roles = ()
    rows_for_query_check = 3

    def make(self, company, **fields):
        from clinical.models import Patient
        from tests.clinical.factories import PatientFactory

        patient = Patient.objects.filter(company=company).first() or PatientFactory(company=company)
        return PatientPayment.objects.create(
            company=company,
            patient=patient,
            method=PatientPaymentMethod.CASH,
            amount=D("5.00"),
            received_at=timezone.now(),
        )


def step_url(statement):
    return reverse("admin:hme_patientstatement_step", args=[statement.pk, "record_patient_payment"])


def test_the_statement_button_records_a_payment(company, billed, client, personas):
    run_statements(company)
    statement = PatientStatement.objects.get()
    client.force_login(personas["billing"])
    page = client.get(reverse("admin:hme_patientstatement_change", args=[statement.pk]))
    assert page.status_code == 200
    assert "Record a patient payment" in page.content.decode()
    url = step_url(statement)
    assert client.get(url).status_code == 200
    data = {
        "method": "check",
        "reference": "2020",
        "amount": "200.00",
        "received_at": "2026-11-30 10:00:00",
        "apply": "1",
        "action": "record_patient_payment",
        "_selected_action": [str(statement.pk)],
    }
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "Over-payment" in refused.content.decode()
    assert PatientPayment.objects.count() == 0
    done = client.post(url, {**data, "amount": "36.00"})
    assert done.status_code == 302
    payment = PatientPayment.objects.get()
    assert (payment.amount, payment.reference, payment.received_by) == (
        D("36.00"),
        "2020",
        personas["billing"],
    )


@pytest.mark.parametrize("role", ["intake", "clinician", "warehouse", "auditor"])
def test_the_button_is_for_billing_only(company, billed, client, personas, role):
    run_statements(company)
    statement = PatientStatement.objects.get()
    client.force_login(personas[role])
    page = client.get(reverse("admin:hme_patientstatement_change", args=[statement.pk]))
    if page.status_code == 200:
        assert "Record a patient payment" not in page.content.decode()
    assert client.get(step_url(statement)).status_code in (403, 404)
    assert PatientPayment.objects.count() == 0


def test_another_companys_statement_has_no_button(other_company, client, personas):
    theirs = make_statement(other_company)
    client.force_login(personas["billing"])
    assert client.get(step_url(theirs)).status_code == 404


# API --------------------------------------------------------------------------------


def body(claim, amount="36.00", **fields):
    return {
        "patient": str(claim.patient_id),
        "method": "check",
        "reference": "3030",
        "amount": amount,
        **fields,
    }


def test_the_api_records_a_payment(company, billed, api_client_for, personas):
    api = api_client_for(personas["billing"])
    url = reverse("api:patient-payment-list")
    response = api.post(url, body(billed), format="json", HTTP_IDEMPOTENCY_KEY="pp-1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["amount"] == "36.00"
    assert data["received_by"] == str(personas["billing"].pk)
    assert [a["amount"] for a in data["allocations"]] == ["36.00"]
    replay = api.post(url, body(billed), format="json", HTTP_IDEMPOTENCY_KEY="pp-1")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert PatientPayment.objects.count() == 1
    over = api.post(url, body(billed, "100.01", reference="3031"), format="json")
    assert over.status_code == 400
    assert over.json()["error"]["code"] == "over_payment"
    assert PatientPayment.objects.count() == 1
    bad = api.post(url, body(billed, "abc"), format="json")
    assert bad.status_code == 400
    detail = api.get(reverse("api:patient-payment-detail", args=[data["id"]]))
    assert detail.status_code == 200
    assert (
        api.patch(reverse("api:patient-payment-detail", args=[data["id"]]), {}).status_code == 405
    )
    assert api.delete(reverse("api:patient-payment-detail", args=[data["id"]])).status_code == 405


def test_the_api_is_scoped_to_the_company(company, billed, api_client_for, personas, outsider):
    payment = pay(billed, "10.00")
    theirs = api_client_for(outsider)
    assert theirs.get(reverse("api:patient-payment-detail", args=[payment.pk])).status_code == 404
    assert theirs.get(reverse("api:patient-payment-list")).json()["results"] == []
    # Our patient is "does not exist" to another company.
    response = theirs.post(reverse("api:patient-payment-list"), body(billed), format="json")
    assert response.status_code in (400, 403)
    assert PatientPayment.objects.count() == 1


@pytest.mark.parametrize("role", ["intake", "clinician", "warehouse", "auditor"])
def test_only_billing_records_through_the_api(company, billed, api_client_for, personas, role):
    api = api_client_for(personas[role])
    response = api.post(reverse("api:patient-payment-list"), body(billed), format="json")
    assert response.status_code == 403
    assert PatientPayment.objects.count() == 0


def test_the_api_list_queries_do_not_grow(company, billed, api_client_for, personas):
    api = api_client_for(personas["billing"])
    pay(billed, "1.00")
    with CaptureQueriesContext(connection) as one:
        api.get(reverse("api:patient-payment-list"))
    for _ in range(5):
        pay(billed, "1.00")
    with CaptureQueriesContext(connection) as many:
        response = api.get(reverse("api:patient-payment-list"))
    assert len(response.json()["results"]) == 6
    assert len(many) <= len(one)
