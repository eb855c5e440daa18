"""The tamper-evident access log: rows chained per company by an HMAC-SHA256, checked
by ``manage.py verify_access_log``; the data elements shown and the stated purpose."""

import threading
import types
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from core.access import canonical, record_access, verify_chain
from core.choices import AccessAction, AccessVia, ComplianceKind
from core.models import AccessLog, AccessLogChain, ComplianceEvent
from tests.factories import PHIRecordFactory

pytestmark = pytest.mark.django_db


def request_of(user, **headers):
    request = RequestFactory().get("/", **headers)
    request.user = user
    return request


def log(user, records, **kwargs):
    return record_access(
        request_of(user), records, via=AccessVia.API, action=AccessAction.VIEW, **kwargs
    )


@pytest.fixture
def clinician(personas):
    return personas[Role.CLINICIAN]


@pytest.fixture
def rows(company, clinician):
    return log(clinician, PHIRecordFactory.create_batch(5, company=company))


def verify(*args):
    out, err = StringIO(), StringIO()
    call_command("verify_access_log", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_chains_rows_per_company(company, other_company, clinician, outsider, rows):
    log(outsider, [PHIRecordFactory(company=other_company)])
    assert [row.seq for row in AccessLog.objects.filter(company=company).order_by("id")] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert AccessLog.objects.get(company=other_company).seq == 1
    assert len({row.hash for row in rows}) == 5
    assert AccessLogChain.objects.get(key=str(company.pk)).last_hash == rows[-1].hash
    assert verify_chain(company.pk) == []


def test_it_exits_0_with_a_summary_line_when_intact(rows):
    out, _ = verify()
    assert out.strip() == "Access log verified: 5 rows in 1 chain(s), none changed or missing."
    assert not ComplianceEvent.objects.exists()


def test_it_finds_a_changed_row_and_names_it(company, rows):
    AccessLog.objects.filter(pk=rows[2].pk).update(user_email="someone@else.test")
    with pytest.raises(CommandError, match=f"first at row {rows[2].pk}"):
        verify()
    event = ComplianceEvent.objects.get(kind=ComplianceKind.ACCESS_LOG_TAMPERED)
    assert event.company_id == company.pk
    assert event.detail["changed"] == [rows[2].pk]


def test_it_finds_a_deleted_row(rows):
    AccessLog.objects.filter(pk=rows[1].pk).delete()
    problems = verify_chain(rows[0].company_id)
    assert [(p.kind, p.row_id) for p in problems] == [("missing", rows[2].pk)]
    with pytest.raises(CommandError):
        verify()


def test_it_finds_the_last_row_deleted(rows):
    AccessLog.objects.filter(pk=rows[-1].pk).delete()
    problems = verify_chain(rows[0].company_id)
    assert [p.kind for p in problems] == ["missing"]
    assert "1 row(s) missing after row" in problems[0].message


def test_it_verifies_one_company_in_small_batches(company, other_company, outsider, rows):
    log(outsider, [PHIRecordFactory(company=other_company)])
    AccessLog.objects.filter(company=other_company).update(purpose="changed")
    out, _ = verify("--company", str(company.pk), "--batch-size", "2")
    assert "5 rows in 1 chain(s)" in out


def test_a_bad_company_id_is_one_readable_error(rows):
    with pytest.raises(CommandError, match="must be a company id"):
        verify("--company", "not-a-uuid")


def test_the_chain_survives_the_users_deletion(company, clinician, rows):
    clinician.delete()
    assert verify_chain(company.pk) == []


def test_writing_costs_the_same_queries_for_1_and_20_records(company, clinician):
    one, twenty = (
        [PHIRecordFactory(company=company)],
        PHIRecordFactory.create_batch(20, company=company),
    )
    log(clinician, one)
    with CaptureQueriesContext(connection) as first:
        log(clinician, one)
    with CaptureQueriesContext(connection) as many:
        log(clinician, twenty)
    assert len(many) == len(first)


def test_it_records_the_fields_shown_and_the_purpose(company, clinician):
    record = PHIRecordFactory(company=company)
    [row] = record_access(
        request_of(clinician, HTTP_X_PURPOSE="treatment"),
        [record],
        via=AccessVia.API,
        action=AccessAction.VIEW,
        fields=["name", "dob"],
    )
    row.refresh_from_db()
    assert (row.fields, row.purpose) == (["dob", "name"], "treatment")
    assert '"1950' not in canonical(row)


def test_the_admin_page_logs_its_field_names(client, company, clinician):
    record = PHIRecordFactory(company=company)
    client.force_login(clinician)
    assert (
        client.get(reverse("admin:testapp_phirecord_change", args=[record.pk])).status_code == 200
    )
    row = AccessLog.objects.get(object_id=str(record.pk))
    assert {"name", "dob", "mbi"} <= set(row.fields)


def test_the_api_logs_the_serializers_field_names(api_client_for, company, clinician):
    record = PHIRecordFactory(company=company)
    client = api_client_for(clinician)
    assert client.get(f"/api/test/phi-records/{record.pk}/").status_code == 200
    assert client.get("/api/test/phi-records/", HTTP_X_PURPOSE="payment").status_code == 200
    view, listed = AccessLog.objects.order_by("id")
    assert {"name", "dob", "mbi", "notes"} <= set(view.fields)
    assert (listed.action, listed.purpose) == (AccessAction.LIST, "payment")
    assert set(listed.fields) == set(view.fields)


def test_the_migration_seals_rows_written_before_the_chain(company, rows):
    seal = import_module("core.migrations.0008_seal_access_log")
    AccessLog.objects.update(seq=None, hash="")
    AccessLogChain.objects.all().delete()
    seal.seal(apps, types.SimpleNamespace(connection=connection))
    assert verify_chain(company.pk) == []
    assert AccessLogChain.objects.get(key=str(company.pk)).last_seq == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain(postgres_only, company, clinician):
    records = PHIRecordFactory.create_batch(3, company=company)
    barrier = threading.Barrier(8)
    errors = []

    def write():
        try:
            barrier.wait(timeout=30)
            log(clinician, records)
        except Exception as error:  # the outcome under test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    seqs = list(AccessLog.objects.filter(company=company).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, 25))
    assert verify_chain(company.pk) == []
