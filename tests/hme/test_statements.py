"""Patient statements: open patient-share lines only (no write-offs, nothing sent on to
a secondary), one PDF per patient, each run recorded, generating and downloading logged;
the command, the monthly task and the admin action all make them."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.choices import AccessAction, ComplianceKind
from core.models import AccessLog, ComplianceEvent
from hme import tasks
from hme.models import PatientStatement, StatementRun
from hme.services.remittance import import_835
from hme.services.statements import open_patient_shares, run_statements

from .remittance_helpers import fixture, medicare, sent_claim
from .test_secondary import with_secondary

D = Decimal


@pytest.fixture
def billed(company):
    """A paid claim with $136.00 of coinsurance (PR-2) and a $170.00 write-off (CO-45)."""
    claim = sent_claim(company, medicare(company))
    import_835(company, fixture("835_paid.x12"))
    return claim


def test_the_open_share_is_the_pr_balance_only(company, billed):
    (share,) = open_patient_shares(company)
    assert share.patient_id == billed.patient_id
    (line,) = share.lines
    assert (line.billed, line.insurance_paid, line.adjustments, line.due) == (
        D("850.00"),
        D("544.00"),
        D("170.00"),
        D("136.00"),
    )
    assert line.hcpcs == "E0601"
    assert share.total == D("136.00")


def test_a_balance_sent_to_a_secondary_is_not_the_patients(company):
    with_secondary(company)
    import_835(company, fixture("835_paid.x12"))
    assert open_patient_shares(company) == []


def test_a_run_makes_one_pdf_per_patient_and_is_recorded(company, billed):
    run = run_statements(company)
    assert (run.statements_count, run.lines_count, run.total_due) == (1, 1, D("136.00"))
    statement = PatientStatement.objects.get()
    assert bytes(statement.pdf).startswith(b"%PDF")
    assert statement.total_due == D("136.00")
    event = ComplianceEvent.objects.get(kind=ComplianceKind.PHI_EXPORT)
    assert event.detail["statements"] == 1


def test_the_statement_shows_no_clinical_detail(company, billed):
    from django.template.loader import render_to_string

    (share,) = open_patient_shares(company)
    html = render_to_string(
        "hme/patient_statement.html",
        {"company": company, "patient": billed.patient, "share": share, "as_of": None},
    )
    assert "E0601" in html
    assert "136.00" in html
    assert "G47" not in html  # the claim's diagnosis (G47.33)
    assert "Sleep" not in html


def test_the_command_prints_a_summary(company, billed):
    out = io.StringIO()
    call_command("patient_statements", stdout=out, stderr=io.StringIO())
    assert "1 statement(s), 1 line(s), $136.00 due" in out.getvalue()
    assert StatementRun.objects.count() == 1


def test_the_command_refuses_an_unknown_company(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No active company"):
        call_command("patient_statements", "--company", "00000000-0000-0000-0000-000000000000")


def test_the_monthly_task_runs_every_company(company, billed):
    result = tasks.patient_statements()
    assert result["status"] == "done"
    assert result["statements"] == 1


def test_the_admin_action_and_the_download_are_logged(company, billed, client, personas):
    client.force_login(personas["billing"])
    response = client.post(
        reverse("admin:hme_claim_changelist"),
        {"action": "patient_statements", "_selected_action": [str(billed.pk)]},
    )
    assert response.status_code == 302
    statement = PatientStatement.objects.get()
    assert AccessLog.objects.filter(action=AccessAction.EXPORT).count() == 1
    url = reverse("admin:hme_patientstatement_download", args=[statement.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert str(billed.patient.last_name) not in response["Content-Disposition"]
    assert AccessLog.objects.filter(action=AccessAction.EXPORT).count() == 2


def test_another_companys_statement_is_a_404(company, billed, client, outsider):
    run_statements(company)
    statement = PatientStatement.objects.get()
    client.force_login(outsider)
    url = reverse("admin:hme_patientstatement_download", args=[statement.pk])
    assert client.get(url).status_code == 404
