"""The compliance log in the admin (read-only, company-scoped, filtered), its 6-year
retention (45 CFR 164.316(b)(2)(i)) and the cross-tenant probe counter."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.choices import Role
from core.choices import ComplianceKind
from core.compliance import purge_expired_events, record_event
from core.models import ComplianceEvent
from core.tasks import purge_compliance_events
from tests.factories import PHIRecordFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:core_complianceevent_changelist"


def listed(client, **params):
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def events(company, other_company):
    return {
        "ours": record_event(ComplianceKind.LOCKOUT, company=company),
        "ours_critical": record_event(ComplianceKind.EMERGENCY_ACCESS, company=company),
        "theirs": record_event(ComplianceKind.LOCKOUT, company=other_company),
        "global": record_event(ComplianceKind.KEY_ROTATION),
    }


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMINISTRATOR])
def test_the_companys_staff_see_its_events_only(client, personas, events, role):
    client.force_login(personas[role])
    assert set(listed(client)) == {events["ours"], events["ours_critical"]}
    theirs = reverse("admin:core_complianceevent_change", args=[events["theirs"].pk])
    assert client.get(theirs).status_code == 404
    ours = client.get(reverse("admin:core_complianceevent_change", args=[events["ours"].pk]))
    assert ours.status_code == 200
    assert not ours.context["has_change_permission"]
    assert client.get(reverse("admin:core_complianceevent_add")).status_code == 403


def test_operators_see_every_company_and_the_global_events(client, events):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert set(listed(client)) == set(events.values())


def test_it_filters_by_kind_category_severity_and_date(client, personas, events):
    client.force_login(personas[Role.AUDITOR])
    assert listed(client, kind="lockout") == [events["ours"]]
    assert listed(client, severity="critical") == [events["ours_critical"]]
    assert listed(client, category="access_control") == [events["ours_critical"]]
    tomorrow = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    assert listed(client, timestamp__gte=tomorrow) == []


def test_other_staff_may_not_read_it(client, personas, events):
    client.force_login(personas[Role.INTAKE])
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_the_list_costs_the_same_queries_for_1_and_20_events(client, company, personas):
    client.force_login(personas[Role.AUDITOR])
    record_event(ComplianceKind.LOCKOUT, company=company)
    with CaptureQueriesContext(connection) as one:
        listed(client)
    for _ in range(19):
        record_event(ComplianceKind.LOCKOUT, company=company, actor=personas[Role.INTAKE])
    with CaptureQueriesContext(connection) as many:
        assert len(listed(client)) == 20
    assert len(many) == len(one)


def test_the_purge_keeps_6_years_and_records_what_it_removed(company):
    old = record_event(ComplianceKind.LOCKOUT, company=company)
    kept = record_event(ComplianceKind.LOCKOUT, company=company)
    ComplianceEvent.objects.filter(pk=old.pk).update(
        timestamp=timezone.now() - datetime.timedelta(days=6 * 366 + 1)
    )
    assert purge_expired_events(batch_size=1) == 1
    assert not ComplianceEvent.objects.filter(pk=old.pk).exists()
    assert ComplianceEvent.objects.filter(pk=kept.pk).exists()
    purge = ComplianceEvent.objects.get(kind=ComplianceKind.PURGE)
    assert purge.detail["purged"] == 1
    assert purge_compliance_events.delay().get() == 0
    assert ComplianceEvent.objects.filter(kind=ComplianceKind.PURGE).count() == 1


def test_the_purge_is_scheduled_daily():
    task = PeriodicTask.objects.get(task="core.tasks.purge_compliance_events")
    assert task.enabled
    assert task.crontab is not None


def test_repeated_404s_on_another_companys_ids_are_one_probe_event(
    api_client_for, company, other_company, outsider, settings
):
    settings.CROSS_TENANT_PROBE_THRESHOLD = 3
    theirs = PHIRecordFactory.create_batch(4, company=company)
    client = api_client_for(outsider)
    # Ids that exist nowhere are not probes (typos, stale links).
    for _ in range(3):
        assert client.get(f"/api/test/phi-records/{uuid.uuid4()}/").status_code == 404
    assert not ComplianceEvent.objects.exists()
    for record in theirs:
        assert client.get(f"/api/test/phi-records/{record.pk}/").status_code == 404
    event = ComplianceEvent.objects.get(kind=ComplianceKind.CROSS_TENANT_PROBE)
    assert (event.company, event.actor) == (other_company, outsider)
    assert event.detail == {"not_found": 3, "model": "testapp.PHIRecord", "window_seconds": 600}
    assert str(theirs[0].pk) not in str(event.detail)


def test_admin_change_pages_count_towards_a_probe_too(client, company, outsider, settings):
    settings.CROSS_TENANT_PROBE_THRESHOLD = 2
    client.force_login(outsider)
    for record in PHIRecordFactory.create_batch(2, company=company):
        url = reverse("admin:testapp_phirecord_change", args=[record.pk])
        assert client.get(url).status_code == 404
    assert ComplianceEvent.objects.filter(kind=ComplianceKind.CROSS_TENANT_PROBE).count() == 1
