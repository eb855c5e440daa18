"""The access-log write path (issue 19 item 5): a page's rows in one multi-row INSERT,
the chain head locked in one statement, no savepoint, and never dropped: a failure to
write fails the request."""

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from core import access
from core.access import verify_chain
from core.models import AccessLog, AccessLogChain, OutboxEvent
from tests.clinical.factories import PatientFactory


@pytest.fixture
def intake(personas):
    return personas[Role.INTAKE]


def statements(captured, prefix):
    return [q["sql"] for q in captured.captured_queries if q["sql"].upper().startswith(prefix)]


def test_a_list_of_50_patients_writes_its_50_rows_in_one_insert(company, intake, api_client_for):
    PatientFactory.create_batch(50, company=company)
    client = api_client_for(intake)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("api:patient-list"), {"page_size": 50})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 50
    inserts = statements(captured, 'INSERT INTO "CORE_ACCESSLOG"')
    assert len(inserts) == 1, inserts
    assert AccessLog.objects.filter(user=intake, action="list").count() == 50
    # The head is locked and read in one statement. One savepoint: the test's own
    # transaction makes record_access's a nested one (a request has none: BEGIN ...
    # COMMIT); append adds none.
    assert len(statements(captured, 'INSERT INTO "CORE_ACCESSLOGCHAIN"')) == 1
    assert not statements(captured, 'SELECT "CORE_ACCESSLOGCHAIN"')
    assert len(statements(captured, "SAVEPOINT")) <= 1
    assert AccessLogChain.objects.get(key=str(company.pk)).last_seq == 50
    assert verify_chain(company.pk) == []


def test_two_pages_extend_one_chain(company, intake, api_client_for):
    PatientFactory.create_batch(3, company=company)
    client = api_client_for(intake)
    client.get(reverse("api:patient-list"))
    client.get(reverse("api:patient-list"))
    assert AccessLogChain.objects.get(key=str(company.pk)).last_seq == 6
    assert verify_chain(company.pk) == []


def test_a_failure_to_write_the_log_fails_the_request(company, intake, api_client_for, monkeypatch):
    patient = PatientFactory(company=company, last_name="Quillfeather")
    events = OutboxEvent.objects.count()

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    # The one INSERT of the rows (core.access._insert) fails.
    monkeypatch.setattr(access, "_insert", broken)
    client = api_client_for(intake)
    for url in (reverse("api:patient-list"), reverse("api:patient-detail", args=[patient.pk])):
        response = client.get(url)
        assert response.status_code == 503, response.content
        error = response.json()["error"]
        assert error["code"] == "access_log_unavailable"
        # The records are not shown, and nothing of them is in the message.
        assert "Quillfeather" not in response.content.decode()
        assert str(patient.pk) not in error["message"]
    assert not AccessLog.objects.exists()
    assert OutboxEvent.objects.count() == events
    assert AccessLogChain.objects.filter(key=str(company.pk), last_seq__gt=0).count() == 0
