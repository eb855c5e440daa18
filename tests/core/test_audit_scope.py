"""The audit trail is company-scoped: each entry carries its company, and the admin
shows a company's staff only their own entries (issue 9, finding 2: B's Administrator
and Auditor listed and opened A's entries and found A's patient by searching)."""

import types
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Company
from core.context import acting_as
from core.models import AuditEntry
from tests.clinical.factories import PatientFactory
from tests.factories import PHIRecordFactory, UserFactory, member

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:core_auditentry_changelist"
CHANGE = "admin:core_auditentry_change"


@pytest.fixture
def a_patient(company):
    return PatientFactory(company=company, last_name="Zebediah")


@pytest.fixture
def b_auditor(other_company):
    return member(other_company, Role.AUDITOR, email="auditor@b.test")


def listed(client, **params):
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_it_files_each_entry_under_its_records_company(company, a_patient):
    entry = AuditEntry.objects.get_for_object(a_patient).get()
    assert entry.company_id == company.pk


def test_it_files_a_companys_own_entries_under_it(company):
    company.name = "Company A renamed"
    company.save()
    assert AuditEntry.objects.get_for_object(company).latest().company_id == company.pk


def test_user_entries_belong_to_the_actors_company_else_to_operators(company, admin_user, personas):
    staff = personas[Role.INTAKE]
    with acting_as(admin_user):
        staff.first_name = "Renamed"
        staff.save()
    assert AuditEntry.objects.get_for_object(staff).latest().company_id == company.pk
    # A system job (no actor) changing a global account: no company, operators only.
    staff.first_name = "Again"
    staff.save()
    assert AuditEntry.objects.get_for_object(staff).latest().company_id is None


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.AUDITOR])
def test_another_companys_staff_neither_list_nor_find_nor_open_its_entries(
    client, a_patient, outsider, b_auditor, role
):
    a_entry = AuditEntry.objects.get_for_object(a_patient).get()
    client.force_login(outsider if role == Role.ADMINISTRATOR else b_auditor)
    assert a_entry not in listed(client)
    assert listed(client, q=str(a_patient.pk)) == []
    assert listed(client, q="Zebediah") == []
    page = client.get(reverse(CHANGE, args=[a_entry.pk]))
    assert page.status_code == 404
    assert b"Zebediah" not in page.content


def test_the_companys_auditor_lists_finds_and_opens_its_entries(client, personas, a_patient):
    a_entry = AuditEntry.objects.get_for_object(a_patient).get()
    client.force_login(personas[Role.AUDITOR])
    assert a_entry in listed(client)
    assert listed(client, q=str(a_patient.pk)) == [a_entry]
    page = client.get(reverse(CHANGE, args=[a_entry.pk]))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]


def test_entries_about_global_accounts_are_for_operators_only(client, personas, company):
    loner = UserFactory(email="loner@aries.test")
    entry = AuditEntry.objects.get_for_object(loner).get()
    assert entry.company_id is None
    client.force_login(personas[Role.ADMINISTRATOR])
    assert entry not in listed(client)
    assert client.get(reverse(CHANGE, args=[entry.pk])).status_code == 404
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert entry in listed(client)


def test_staff_without_the_view_permission_are_refused(client, personas):
    client.force_login(personas[Role.INTAKE])
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_the_search_never_reads_the_changes_json(client, personas):
    client.force_login(personas[Role.AUDITOR])
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse(CHANGELIST), {"q": "Zebediah"})
    entry_queries = [q["sql"] for q in queries.captured_queries if "core_auditentry" in q["sql"]]
    assert entry_queries
    conditions = [sql.partition(" WHERE ")[2] for sql in entry_queries]
    assert not any('"changes"' in where or '"object_repr"' in where for where in conditions)


def test_the_list_costs_the_same_queries_for_1_and_20_entries(client, company, personas):
    client.force_login(personas[Role.AUDITOR])
    PHIRecordFactory(company=company)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse(CHANGELIST))
    PHIRecordFactory.create_batch(20, company=company)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse(CHANGELIST))
    assert len(many) == len(one)


def test_the_history_page_of_a_record_lists_its_entries(client, company, admin_user, a_patient):
    client.force_login(admin_user)
    page = client.get(reverse("admin:clinical_patient_auditlog", args=[a_patient.pk]))
    assert page.status_code == 200
    assert list(page.context["log_entries"]) == list(AuditEntry.objects.get_for_object(a_patient))


def test_the_access_log_admin_holds_too(client, company, personas, outsider):
    from core.models import AccessLog

    record = PHIRecordFactory(company=company)
    client.force_login(personas[Role.CLINICIAN])
    client.get(reverse("admin:testapp_phirecord_change", args=[record.pk]))
    row = AccessLog.objects.get(object_id=str(record.pk))
    client.force_login(outsider)
    response = client.get(reverse("admin:core_accesslog_changelist"))
    assert row not in response.context["cl"].result_list
    assert client.get(reverse("admin:core_accesslog_change", args=[row.pk])).status_code == 404


def test_the_migration_copies_old_entries_and_fills_their_company(company, a_patient):
    """0007: rows in auditlog's table come over with their ids and their company."""
    migration = import_module("core.migrations.0007_copy_audit_entries")
    AuditEntry.objects.all().delete()
    patient_type = a_patient.__class__
    content_types = ContentType.objects.get_for_models(patient_type, Company)
    with connection.cursor() as cursor:
        for pk, content_type, object_pk in [
            (900001, content_types[patient_type], str(a_patient.pk)),
            (900002, content_types[Company], str(company.pk)),
        ]:
            cursor.execute(
                "INSERT INTO auditlog_logentry (id, content_type_id, object_pk, object_repr, "
                "action, changes_text, timestamp) VALUES (%s, %s, %s, %s, 0, '', %s)",
                [pk, content_type.pk, object_pk, "x", "2026-01-01 00:00:00"],
            )
    migration.copy_forward(apps, types.SimpleNamespace(connection=connection))
    copied = dict(AuditEntry.objects.filter(pk__in=[900001, 900002]).values_list("pk", "company"))
    assert copied == {900001: company.pk, 900002: company.pk}


def test_it_filters_by_record_type_without_scanning_the_trail(client, personas, company, a_patient):
    record = PHIRecordFactory(company=company)
    client.force_login(personas[Role.AUDITOR])
    patients = ContentType.objects.get_for_model(a_patient)
    with CaptureQueriesContext(connection) as queries:
        entries = listed(client, resource_type=patients.pk)
    assert entries == list(AuditEntry.objects.get_for_object(a_patient))
    assert record.pk not in {entry.object_pk for entry in entries}
    assert not any("DISTINCT" in q["sql"] and "core_auditentry" in q["sql"] for q in queries)
