"""The dashboards' stored figures (cockpit.models.DashboardSnapshot): each moved panel's
count, one company's refresh never touching another's, the first view, the "as of", the
live figures of a location-limited membership, the task, the command, the schedule, and
a dashboard that computes no aggregate of its own."""

import datetime
import json
import logging
import uuid

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.choices import Role
from accounts.models import Membership
from cockpit import figures as figures_module
from cockpit import services, tasks
from cockpit.models import DashboardSnapshot
from core.locks import lock_key
from tests.clinical.factories import PatientFactory
from tests.cockpit.test_dashboards import cards, index, items, seed
from tests.dme.factories import OrderFactory
from tests.factories import LocationFactory, member

pytestmark = pytest.mark.django_db
NOT_BILLED = "Delivered, not billed yet"


def moved(shown):
    """The count of each panel the snapshot feeds, as a dashboard shows it."""
    return {
        "not_billed": items(shown["billing-queue"])[NOT_BILLED].count,
        "duplicates": [item.count for item in shown["intake-duplicates"].items],
        "first_pass": shown["kpi-first-pass"].value,
        "denials": "CO-50" in (shown["kpi-denials"].chart or ""),
    }


def test_the_snapshot_holds_each_moved_figure_of_its_company_only(company, other_company):
    seed(company)
    seed(other_company)
    seed(other_company)
    snapshot = services.refresh_snapshot(company)
    assert not DashboardSnapshot.objects.filter(company=other_company).exists()
    figures = snapshot.figures
    assert figures["not_billed"] == 1
    assert figures["duplicates"] == {"groups": 1, "patients": 2}
    assert figures["kpis"]["first_pass"] == {"adjudicated": 1, "first_pass": 0}
    assert figures["kpis"]["denials"] == [{"group": "CO", "code": "50", "count": 1}]
    assert len(figures["kpis"]["cash"]) == 6

    theirs = services.refresh_snapshot(other_company).figures
    assert theirs["not_billed"] == 2
    assert theirs["duplicates"] == {"groups": 1, "patients": 4}
    assert theirs["kpis"]["first_pass"]["adjudicated"] == 2
    # Refreshing B left A's row as it was.
    assert DashboardSnapshot.objects.get(company=company).figures == figures


def test_the_snapshot_holds_no_phi(company):
    seed(company)
    patients = list(PatientFactory._meta.model.objects.filter(company=company))
    text = json.dumps(services.refresh_snapshot(company).figures).lower()
    for patient in patients:
        assert patient.last_name.lower() not in text
        assert str(patient.pk) not in text
        assert patient.dob.isoformat() not in text
        assert patient.number.lower() not in text


def test_the_first_view_computes_the_snapshot_then_the_dashboard_reads_it(
    client, admin_user, company
):
    seed(company)
    assert not DashboardSnapshot.objects.exists()
    first = cards(index(client, admin_user))
    snapshot = DashboardSnapshot.objects.get(company=company)
    assert moved(first) == {
        "not_billed": 1,
        "duplicates": [2],
        "first_pass": "0%",
        "denials": True,
    }
    # New work shows at the next refresh, not before; the live queues move at once.
    OrderFactory(company=company, status="delivered", delivered_on=timezone.localdate())
    PatientFactory(company=company, last_name="Twin", dob=datetime.date(1950, 1, 2))
    stale = cards(index(client, admin_user))
    assert items(stale["billing-queue"])[NOT_BILLED].count == 1
    assert [item.count for item in stale["intake-duplicates"].items] == [2]
    services.refresh_snapshots()
    fresh = cards(index(client, admin_user))
    assert items(fresh["billing-queue"])[NOT_BILLED].count == 2
    assert [item.count for item in fresh["intake-duplicates"].items] == [3]
    assert DashboardSnapshot.objects.get(company=company).computed_at > snapshot.computed_at


def test_the_dashboard_says_when_its_figures_were_computed(client, admin_user, company):
    snapshot = services.refresh_snapshot(company)
    moment = timezone.localtime(snapshot.computed_at)
    response = index(client, admin_user)
    assert f"As of {moment:%H:%M}.".encode() in response.content
    kpis = response.context["dashboards"][0]
    assert kpis.as_of == f"As of {moment:%H:%M}."
    shown = cards(response)
    assert shown["intake-duplicates"].as_of == kpis.as_of
    assert shown["billing-queue"].as_of == kpis.as_of
    # Yesterday's figures say their day as well.
    earlier = snapshot.computed_at - timezone.timedelta(days=1)
    DashboardSnapshot.objects.filter(pk=snapshot.pk).update(computed_at=earlier)
    earlier = timezone.localtime(earlier)
    as_of = index(client, admin_user).context["dashboards"][0].as_of
    assert as_of == f"As of {earlier:%b} {earlier.day}, {earlier:%H:%M}."


def test_a_snapshot_of_another_format_is_recomputed(client, admin_user, company):
    seed(company)
    snapshot = services.refresh_snapshot(company)
    DashboardSnapshot.objects.filter(pk=snapshot.pk).update(figures={"version": 0})
    shown = cards(index(client, admin_user))
    assert items(shown["billing-queue"])[NOT_BILLED].count == 1
    assert (
        DashboardSnapshot.objects.get(pk=snapshot.pk).figures["version"] == figures_module.VERSION
    )


def test_each_company_sees_its_own_figures(client, personas, outsider, company, other_company):
    seed(company)
    seed(other_company)
    seed(other_company)
    services.refresh_snapshots()
    ours = moved(cards(index(client, personas[Role.ADMINISTRATOR])))
    theirs = moved(cards(index(client, outsider)))
    assert ours["not_billed"] == 1
    assert ours["duplicates"] == [2]
    assert theirs["not_billed"] == 2
    assert theirs["duplicates"] == [4]
    # The links list the viewer's company's rows only.
    client.force_login(personas[Role.INTAKE])
    intake = cards(index(client, personas[Role.INTAKE]))
    listed = client.get(intake["intake-duplicates"].items[0].url)
    assert listed.context["cl"].result_count == 2
    assert {p.company_id for p in listed.context["cl"].result_list} == {company.pk}


def test_a_company_with_nothing_shows_empty_panels(client, personas, other_company):
    seed(other_company)
    services.refresh_snapshots()
    shown = cards(index(client, personas[Role.ADMINISTRATOR]))
    assert moved(shown) == {"not_billed": 0, "duplicates": [], "first_pass": "-", "denials": False}


def test_a_membership_limited_to_locations_gets_live_figures(client, company):
    """The snapshot is company-wide; orders and claims of a location-limited member are
    narrowed to their locations, so their figures are computed for them, live."""
    seed(company)
    services.refresh_snapshot(company)
    user = member(company, Role.ADMINISTRATOR, email="branch@a.test")
    Membership.objects.get(user=user).locations.set([LocationFactory(company=company)])
    response = index(client, user)
    assert response.context["dashboards"][0].as_of == "Live: the figures of your locations."
    shown = cards(response)
    assert items(shown["billing-queue"])[NOT_BILLED].count == 0  # not at their location
    assert [item.count for item in shown["intake-duplicates"].items] == [2]  # patients: all


def test_the_administrators_dashboard_computes_no_aggregate(client, admin_user, company):
    seed(company)
    services.refresh_snapshot(company)
    index(client, admin_user)
    with CaptureQueriesContext(connection) as few:
        index(client, admin_user)
    for _ in range(3):
        seed(company)
    services.refresh_snapshot(company)
    with CaptureQueriesContext(connection) as many:
        index(client, admin_user)
    assert len(many) == len(few)
    queries = [query["sql"].upper() for query in many.captured_queries]
    assert not [sql for sql in queries if "SUM(" in sql]  # the key figures are read
    # Read once for all four dashboards.
    assert sum("COCKPIT_DASHBOARDSNAPSHOT" in sql for sql in queries) == 1


def test_the_task_refreshes_every_company_and_logs_failures_without_phi(
    company, other_company, monkeypatch, caplog
):
    seed(company)
    real = figures_module.company_figures

    def failing(which, today):
        if which == company:
            raise ValueError("Twin, born 1950-01-02")
        return real(which, today)

    monkeypatch.setattr(services, "company_figures", failing)
    with caplog.at_level(logging.WARNING, logger="cockpit.services"):
        result = tasks.refresh_dashboard_snapshots()
    assert result["status"] == "done"
    assert result["refreshed"] == 1
    assert result["failed_companies"] == [str(company.pk)]
    assert DashboardSnapshot.objects.filter(company=other_company).exists()
    assert not DashboardSnapshot.objects.filter(company=company).exists()
    logged = caplog.text
    assert str(company.pk) in logged
    assert "ValueError" in logged
    assert "Twin" not in logged
    assert "1950" not in logged


def test_the_task_skips_while_another_run_holds_the_lock(company):
    cache.add(lock_key("cockpit.refresh_dashboard_snapshots"), "other:run", 60)
    try:
        assert tasks.refresh_dashboard_snapshots() == {"status": "skipped"}
    finally:
        cache.delete(lock_key("cockpit.refresh_dashboard_snapshots"))
    assert not DashboardSnapshot.objects.exists()


def test_the_command_refreshes_one_company_or_all(company, other_company, capsys):
    call_command("refresh_dashboards", "--company", str(company.pk))
    assert "of 1 company(ies)" in capsys.readouterr().out
    assert list(DashboardSnapshot.objects.values_list("company", flat=True)) == [company.pk]
    call_command("refresh_dashboards")
    assert "of 2 company(ies)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="a company id"):
        call_command("refresh_dashboards", "--company", "not-a-uuid")
    with pytest.raises(CommandError, match="No active company"):
        call_command("refresh_dashboards", "--company", str(uuid.uuid4()))


def test_the_refresh_is_scheduled_every_15_minutes():
    task = PeriodicTask.objects.select_related("crontab").get(
        task="cockpit.tasks.refresh_dashboard_snapshots"
    )
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("*/15", "*")
