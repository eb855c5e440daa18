"""Retention and legal holds: purge_expired never removes a held or in-retention record."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from documents.choices import DocumentKind, PurgeKind
from documents.models import Document, PurgeRecord
from documents.services import place_hold, plan_purge, purge, release_hold
from documents.services.retention import DOCUMENT_RULES, OTHER_RULES, add_years
from tests.documents.factories import DocumentFactory


def received(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


RECEIVED = datetime.date(2018, 5, 10)
END_7 = datetime.date(2025, 5, 10)  # 7 years after: the first day it may go


@pytest.mark.django_db
def test_a_document_is_kept_the_day_before_and_due_on_the_retention_end(company):
    document = DocumentFactory(
        company=company, kind=DocumentKind.PROOF_OF_DELIVERY, received_at=received(RECEIVED)
    )
    day_before = END_7 - datetime.timedelta(days=1)
    assert document.pk not in plan_purge(day_before).due[PurgeKind.DOCUMENT]
    assert document.pk in plan_purge(END_7).due[PurgeKind.DOCUMENT]


@pytest.mark.django_db
def test_other_documents_keep_six_years(company):
    document = DocumentFactory(
        company=company, kind=DocumentKind.OTHER, received_at=received(RECEIVED)
    )
    end = add_years(RECEIVED, 6)
    assert document.pk not in plan_purge(end - datetime.timedelta(days=1)).due[PurgeKind.DOCUMENT]
    assert document.pk in plan_purge(end).due[PurgeKind.DOCUMENT]


@pytest.mark.django_db
def test_the_date_of_service_moves_the_end(company):
    from tests.dme.factories import OrderFactory

    order = OrderFactory(company=company)
    order.delivered_on = datetime.date(2019, 1, 15)
    order.save(update_fields=["delivered_on"])
    document = DocumentFactory(
        company=company,
        patient=order.patient,
        order=order,
        kind=DocumentKind.STANDARD_WRITTEN_ORDER,
        received_at=received(RECEIVED),
    )
    assert document.pk not in plan_purge(END_7).due[PurgeKind.DOCUMENT]
    end = datetime.date(2026, 1, 15)
    assert document.pk not in plan_purge(end - datetime.timedelta(days=1)).due[PurgeKind.DOCUMENT]
    assert document.pk in plan_purge(end).due[PurgeKind.DOCUMENT]


@pytest.mark.django_db
def test_a_legal_hold_keeps_records_past_their_end_until_released(company, admin_user):
    document = DocumentFactory(
        company=company, kind=DocumentKind.ABN, received_at=received(RECEIVED)
    )
    hold = place_hold(company=company, patient=document.patient, reason="Matter 17")
    plan = plan_purge(END_7)
    assert document.pk not in plan.due[PurgeKind.DOCUMENT]
    assert plan.held[PurgeKind.DOCUMENT] == 1
    assert purge(plan) is None
    assert Document.objects.filter(pk=document.pk).exists()
    release_hold(hold, user=admin_user)
    assert document.pk in plan_purge(END_7).due[PurgeKind.DOCUMENT]


@pytest.mark.django_db
def test_a_hold_on_a_claim_keeps_its_documents(company):
    from tests.hme.factories import ClaimFactory

    claim = ClaimFactory(company=company)
    document = DocumentFactory(
        company=company,
        patient=claim.patient,
        claim=claim,
        kind=DocumentKind.PRIOR_AUTH_DECISION,
        received_at=received(datetime.date(2010, 1, 1)),
    )
    place_hold(company=company, claim=claim, reason="RAC review")
    as_of = add_years(claim.lines.get().date_of_service, 8)
    assert document.pk not in plan_purge(as_of).due[PurgeKind.DOCUMENT]


@pytest.mark.django_db
def test_purge_removes_the_row_and_its_file_and_records_ids_only(
    company, documents_storage, django_capture_on_commit_callbacks
):
    old = DocumentFactory(
        company=company, kind=DocumentKind.MEDICAL_RECORD, received_at=received(RECEIVED)
    )
    kept = DocumentFactory(company=company, patient=old.patient, kind=DocumentKind.MEDICAL_RECORD)
    assert len(list(documents_storage.rglob("*.sealed"))) == 2
    with django_capture_on_commit_callbacks(execute=True):
        record = purge(plan_purge(END_7))
    assert record.counts[PurgeKind.DOCUMENT] == 1
    assert record.removed_ids[PurgeKind.DOCUMENT] == [str(old.pk)]
    assert not Document.objects.filter(pk=old.pk).exists()
    assert Document.objects.filter(pk=kept.pk).exists()
    assert len(list(documents_storage.rglob("*.sealed"))) == 1
    text = json.dumps([record.counts, record.removed_ids])
    assert old.patient.last_name not in text
    assert old.patient.number not in text


@pytest.mark.django_db
def test_the_command_lists_on_a_dry_run_and_removes_without_it(company):
    old = DocumentFactory(
        company=company, kind=DocumentKind.INSURANCE_CARD, received_at=received(RECEIVED)
    )
    out = io.StringIO()
    call_command("purge_expired", "--dry-run", "--as-of", END_7.isoformat(), stdout=out)
    assert f"document {old.pk}" in out.getvalue()
    assert "Dry run" in out.getvalue()
    assert Document.objects.filter(pk=old.pk).exists()
    assert not PurgeRecord.objects.exists()

    out = io.StringIO()
    call_command(
        "purge_expired", "--as-of", (END_7 - datetime.timedelta(days=1)).isoformat(), stdout=out
    )
    assert Document.objects.filter(pk=old.pk).exists()
    call_command("purge_expired", "--as-of", END_7.isoformat(), stdout=out)
    assert not Document.objects.filter(pk=old.pk).exists()
    assert PurgeRecord.objects.get().counts == {PurgeKind.DOCUMENT: 1}


def test_a_bad_date_is_one_readable_line():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("purge_expired", "--as-of", "10/05/2025")


def test_every_rule_names_its_source():
    rules = [*DOCUMENT_RULES.values(), *OTHER_RULES.values()]
    assert set(DOCUMENT_RULES) == set(DocumentKind.values)
    assert all("CFR" in rule.source for rule in rules)
    assert OTHER_RULES["claim"].years == 7
    assert OTHER_RULES[PurgeKind.AUDIT_ENTRY].years == 6
    assert add_years(datetime.date(2020, 2, 29), 7) == datetime.date(2027, 2, 28)
