"""Documents for billing: the PWK attachments of a claim, the readiness reasons."""

import datetime
from types import SimpleNamespace

import pytest

from documents.choices import DocumentKind
from documents.services import attachments_for_claim, mark_attachment_sent
from documents.services.billing import (
    abn_on_file,
    prior_auth_decision_on_file,
    signed_written_order_on_file,
)
from tests.documents.factories import DocumentFactory


@pytest.mark.django_db
def test_attachments_for_claim_lists_faxed_and_mailed_documents(company):
    from tests.hme.factories import ClaimFactory

    claim = ClaimFactory(company=company)
    faxed = DocumentFactory(
        company=company, patient=claim.patient, claim=claim, kind=DocumentKind.MEDICAL_RECORD
    )
    mailed = DocumentFactory(
        company=company,
        patient=claim.patient,
        claim=claim,
        kind=DocumentKind.STANDARD_WRITTEN_ORDER,
    )
    DocumentFactory(company=company, patient=claim.patient, claim=claim)  # not sent
    mark_attachment_sent(faxed, transmission="FX", control_number="ACN12345")
    mark_attachment_sent(mailed, transmission="BM")
    found = attachments_for_claim(claim)
    assert found[0] == ("M1", "FX", "ACN12345")
    assert found[1][:2] == ("DB", "BM")
    assert found[1][2].startswith("DOC")
    with pytest.raises(Exception, match="letters and digits"):
        mark_attachment_sent(faxed, transmission="FX", control_number="no spaces!")


@pytest.mark.django_db
def test_a_document_without_a_claim_cannot_be_sent(company):
    with pytest.raises(Exception, match="claim"):
        mark_attachment_sent(DocumentFactory(company=company), transmission="FX")


def _line(order, hcpcs="E0601", modifiers=("NU",)):
    return SimpleNamespace(
        pk=f"line-{hcpcs}",
        order_id=order.pk,
        order=order,
        equipment=SimpleNamespace(hcpcs_code=hcpcs),
        modifiers=list(modifiers),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["warn", "hold"])
def test_the_readiness_checks_ask_for_documents(
    company, monkeypatch, settings, django_assert_num_queries, mode
):
    from tests.dme.factories import OrderFactory

    settings.DOCUMENTS_BILLING_CHECKS = mode

    def reason(severity):
        def make(code, message, fix=None, source=""):
            return SimpleNamespace(code=code, message=message, source=source, severity=severity)

        return make

    from hme.readiness import base

    monkeypatch.setattr(base, "error", reason("error"))
    monkeypatch.setattr(base, "warning", reason("warning"))
    order = OrderFactory(company=company)
    batch = SimpleNamespace(
        lines=[_line(order), _line(order, "K0823"), _line(order, "E0601", ("GA",))],
        extra={},
        on=datetime.date(2026, 1, 5),
    )
    with django_assert_num_queries(1):
        found = [
            *signed_written_order_on_file(batch),
            *prior_auth_decision_on_file(batch),
            *abn_on_file(batch),
        ]
    codes = [reason.code for _, reason in found]
    assert codes.count("document_swo") == 3
    assert codes.count("document_prior_auth") == 1
    assert codes.count("document_abn") == 1
    assert all("CFR" in r.source or "Manual" in r.source for _, r in found)
    assert {r.severity for _, r in found} == {"error" if mode == "hold" else "warning"}

    for kind in (
        DocumentKind.STANDARD_WRITTEN_ORDER,
        DocumentKind.PRIOR_AUTH_DECISION,
        DocumentKind.ABN,
    ):
        DocumentFactory(company=company, patient=order.patient, order=order, kind=kind)
    batch.extra = {}
    settings.DOCUMENTS_BILLING_CHECKS = "off"
    assert not [*signed_written_order_on_file(SimpleNamespace(lines=batch.lines, extra={}))]
    settings.DOCUMENTS_BILLING_CHECKS = mode
    assert not [
        *signed_written_order_on_file(batch),
        *prior_auth_decision_on_file(batch),
        *abn_on_file(batch),
    ]


def test_the_checks_are_registered_with_readiness():
    from hme.readiness import registered_checks

    assert {
        signed_written_order_on_file,
        prior_auth_decision_on_file,
        abn_on_file,
    } <= set(registered_checks())
