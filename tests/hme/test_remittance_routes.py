"""The money-in routes: the 835 upload (admin page and API), the unmatched worklist
(admin action and API), the read-only admins; each scoped to the company (another
company's record is a 404) with bounded queries."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hme.choices import ClaimStatus
from hme.models import EligibilityCheck, RemittanceClaim, RemittanceImport, StatementRun
from hme.models.remittance import EligibilityStatus, RemittanceClaimKind
from tests.admin_base import TenantAdminTests
from tests.hme.factories import CoverageFactory, claim_line

from .remittance_helpers import DOS, fixture, medicare, sent_claim


def make_import(company, **fields):
    """A remittance row (with its payment) made directly: the admin tests need many."""

    from hme.models import Payer
    from hme.services import record_payment

    payer = Payer.objects.filter(company=company, payer_id="17003").first() or medicare(company)
    number = f"EFT{RemittanceImport.objects.count():08d}"
    payment = record_payment(
        company=company, payer=payer, number=number, paid_date=DOS, amount=Decimal("200.00")
    )
    return RemittanceImport.objects.create(
        company=company,
        payer=payer,
        payment=payment,
        trace_number=number,
        source="upload",
        bpr_amount=Decimal("200.00"),
        paid_date=DOS,
        claims_count=1,
        unmatched_amount=Decimal("200.00"),
    )


def make_unmatched(company, **fields):
    record = make_import(company)
    return RemittanceClaim.objects.create(
        company=company,
        remittance=record,
        kind=RemittanceClaimKind.UNMATCHED,
        payer_claim_number="X-424242",
        payer_control_number="PCN0009",
        status_code="1",
        charge=Decimal("250.00"),
        paid=Decimal("200.00"),
        patient_responsibility=Decimal("50.00"),
        details={
            "position": 20,
            "date_of_service": DOS.isoformat(),
            "adjustments": [],
            "remarks": [],
            "lines": [
                {
                    "position": 22,
                    "hcpcs": "E0562",
                    "modifiers": ["NU"],
                    "charge": "250.00",
                    "paid": "200.00",
                    "units": 1,
                    "date_of_service": DOS.isoformat(),
                    "control_number": "",
                    "allowed": None,
                    "adjustments": [{"group": "PR", "code": "2", "amount": "50.00"}],
                    "remarks": [],
                }
            ],
            "reason": "No claim of this payer has this claim number (CLP01).",
        },
    )


class TestRemittanceImportAdmin(TenantAdminTests):
    model = RemittanceImport
    add_roles = ()
    change_roles = ()
    rows_for_query_check = 3

    def make(self, company, **fields):
        return make_import(company)


class TestRemittanceClaimAdmin(TenantAdminTests):
    model = RemittanceClaim
    add_roles = ()
    change_roles = ()
    rows_for_query_check = 3

    def make(self, company, **fields):
        return make_unmatched(company)


class TestStatementRunAdmin(TenantAdminTests):
    model = StatementRun
    add_roles = ()
    change_roles = ()

    def make(self, company, **fields):
        return StatementRun.objects.create(company=company, as_of=DOS)


class TestEligibilityCheckAdmin(TenantAdminTests):
    model = EligibilityCheck
    add_roles = ()
    change_roles = ()

    def make(self, company, **fields):
        coverage = CoverageFactory(company=company)
        return EligibilityCheck.objects.create(
            company=company, coverage=coverage, status=EligibilityStatus.MANUAL
        )


def test_the_admin_upload_imports_and_refuses_beside_the_field(company, client, personas):
    claim = sent_claim(company, medicare(company))
    client.force_login(personas["billing"])
    url = reverse("admin:hme_remittanceimport_upload")
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("835_paid.x12", fixture("835_paid.x12"))
    response = client.post(url, {"file": upload})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    again = client.post(url, {"file": SimpleUploadedFile("again.x12", fixture("835_paid.x12"))})
    assert again.status_code == 200
    assert "already imported" in again.content.decode()
    assert RemittanceImport.objects.count() == 1


def test_the_admin_upload_is_not_for_roles_without_the_permission(company, client, personas):
    client.force_login(personas["clinician"])
    assert client.get(reverse("admin:hme_remittanceimport_upload")).status_code in (403, 404)


def test_the_admin_assign_action_posts_to_the_named_claim(company, client, personas):
    row = make_unmatched(company)
    payer = row.remittance.payer
    other = sent_claim(
        company, payer, lines=[claim_line(date_of_service=DOS, hcpcs="E0562", charge=Decimal(250))]
    )
    client.force_login(personas["billing"])
    url = reverse("admin:hme_remittanceclaim_changelist")
    data = {"action": "assign", "_selected_action": [str(row.pk)], "apply": "1"}
    refused = client.post(url, {**data, "claim_number": "C-999999"})
    assert refused.status_code == 200
    assert "No claim C-999999" in refused.content.decode()
    response = client.post(url, {**data, "claim_number": other.number})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.kind == RemittanceClaimKind.ASSIGNED
    assert row.claim == other


def test_the_api_upload(company, api_client_for, personas):
    claim = sent_claim(company, medicare(company))
    api = api_client_for(personas["billing"])
    url = reverse("api:remittance-upload")
    upload = SimpleUploadedFile("835_paid.x12", fixture("835_paid.x12"))
    response = api.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()[0]["trace_number"] == "EFT0000101"
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    again = api.post(
        url, {"file": SimpleUploadedFile("a.x12", fixture("835_paid.x12"))}, format="multipart"
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_imported"
    bad = api.post(
        url,
        {"file": SimpleUploadedFile("b.x12", b"ISA*not x12")},
        format="multipart",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "x12_invalid"


def test_the_api_lists_only_the_companys_remittances(company, api_client_for, personas, outsider):
    record = make_import(company)
    api = api_client_for(personas["billing"])
    listed = api.get(reverse("api:remittance-list"))
    assert [row["id"] for row in listed.json()["results"]] == [str(record.pk)]
    theirs = api_client_for(outsider)
    assert theirs.get(reverse("api:remittance-detail", args=[record.pk])).status_code == 404
    assert theirs.get(reverse("api:remittance-list")).json()["results"] == []


def test_the_api_assigns_an_unmatched_claim_payment(company, api_client_for, personas, outsider):
    row = make_unmatched(company)
    other = sent_claim(
        company,
        row.remittance.payer,
        lines=[claim_line(date_of_service=DOS, hcpcs="E0562", charge=Decimal(250))],
    )
    url = reverse("api:unmatched-remittance-assign", args=[row.pk])
    assert api_client_for(outsider).post(url, {"claim": str(other.pk)}).status_code == 404
    api = api_client_for(personas["billing"])
    listed = api.get(reverse("api:unmatched-remittance-list"))
    assert [r["id"] for r in listed.json()["results"]] == [str(row.pk)]
    response = api.post(url, {"claim": str(other.pk)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["kind"] == "assigned"
    assert api.get(reverse("api:unmatched-remittance-list")).json()["results"] == []


def test_the_unmatched_list_queries_do_not_grow(company, api_client_for, personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = api_client_for(personas["billing"])
    make_unmatched(company)
    with CaptureQueriesContext(connection) as one:
        api.get(reverse("api:unmatched-remittance-list"))
    for _ in range(6):
        make_unmatched(company)
    with CaptureQueriesContext(connection) as many:
        response = api.get(reverse("api:unmatched-remittance-list"))
    assert len(response.json()["results"]) == 7
    assert len(many) <= len(one)
