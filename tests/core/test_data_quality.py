"""The data-quality registry, runner, command, task and admin."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.choices import Role
from accounts.models import Membership
from core.models import DataQualityRun
from core.quality import Outcome, Severity, get_checks, register
from core.quality import registry as registry_module
from core.quality.checks import null_ratio, stale, tenant_mismatch
from core.quality.runner import run_checks
from core.tasks import run_data_quality
from tests.factories import LocationFactory, PHIRecordFactory, UserFactory
from tests.testapp.models import PHIRecord


@pytest.fixture
def temporary_checks():
    """Register checks for one test only."""
    before = dict(registry_module._registry)
    yield register
    registry_module._registry.clear()
    registry_module._registry.update(before)


@pytest.fixture
def operator(db):
    return UserFactory(is_superuser=True, email="operator@example.test")


@pytest.mark.django_db
def test_a_run_stores_each_findings_count_and_sample_ids(temporary_checks, company):
    bad = PHIRecordFactory.create_batch(3, company=company)
    PHIRecordFactory(company=company, location=LocationFactory(company=company))
    temporary_checks(
        "test.no_location", severity=Severity.ERROR, model=PHIRecord, description="Nowhere."
    )(lambda: PHIRecord.objects.filter(location__isnull=True))
    temporary_checks("test.fine", severity=Severity.WARNING, description="Always fine.")(
        lambda: Outcome(count=0, detail="all good")
    )
    run = run_checks(["test.no_location", "test.fine"])
    findings = {f.check_name: f for f in run.findings.all()}
    assert run.status == "failed"
    assert (run.checks_run, run.failed_errors, run.failed_warnings) == (2, 1, 0)
    failing = findings["test.no_location"]
    assert (failing.passed, failing.count) == (False, 3)
    assert sorted(failing.sample_ids) == sorted(str(r.pk) for r in bad)
    assert failing.content_type.model_class() is PHIRecord
    assert findings["test.fine"].passed
    assert findings["test.fine"].detail == "all good"


@pytest.mark.django_db
def test_a_crashing_check_is_a_failed_finding_and_the_others_still_run(temporary_checks):
    def broken():
        raise ZeroDivisionError("with a secret value")

    temporary_checks("test.broken", severity=Severity.WARNING, description="x")(broken)
    temporary_checks("test.ok", severity=Severity.ERROR, description="y")(lambda: Outcome(count=0))
    run = run_checks(["test.broken", "test.ok"])
    broken_finding = run.findings.get(check_name="test.broken")
    assert not broken_finding.passed
    assert broken_finding.detail == "The check crashed: ZeroDivisionError."
    assert run.status == "warnings"
    assert run.findings.get(check_name="test.ok").passed


def test_names_are_unique_and_unknown_names_are_refused(temporary_checks):
    temporary_checks("test.one", severity=Severity.INFO, description="x")(lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        temporary_checks("test.one", severity=Severity.INFO, description="x")(lambda: 1)
    with pytest.raises(ValueError, match=r"Unknown data-quality check: test\.nope"):
        get_checks(["test.nope"])


@pytest.mark.django_db
def test_the_core_checks_find_what_they_look_for(company, other_company):
    stranger = LocationFactory(company=other_company)
    membership = Membership.objects.create(user=UserFactory(), company=company, role=Role.CLINICIAN)
    membership.locations.add(stranger)
    company.npi = "1234567890"  # wrong check digit
    company.save()
    run = run_checks(["accounts.membership_location_company", "accounts.company_npi"])
    findings = {f.check_name: f for f in run.findings.all()}
    assert findings["accounts.membership_location_company"].sample_ids == [str(membership.pk)]
    assert findings["accounts.company_npi"].sample_ids == [str(company.pk)]


@pytest.mark.django_db
def test_the_building_blocks(company, other_company):
    mine, theirs = LocationFactory(company=company), LocationFactory(company=other_company)
    crossed = PHIRecordFactory(company=company, location=theirs)
    PHIRecordFactory(company=company, location=mine)
    assert list(tenant_mismatch(PHIRecord, "location")) == [crossed]

    PHIRecordFactory.create_batch(2, company=company, mbi="")
    outcome = null_ratio(PHIRecord, "location", threshold=0.25)
    assert outcome.count == 2
    assert outcome.detail == "2 of 4 rows (50.0%) have no location; at most 25%."
    assert null_ratio(PHIRecord, "location", threshold=0.5).count == 0

    assert stale(PHIRecord, timedelta(hours=1)).count == 0
    PHIRecord.objects.update(updated_at=timezone.now() - timedelta(days=2))
    assert stale(PHIRecord, timedelta(hours=24)).detail.startswith("No phi records changed for 4")


@pytest.mark.django_db
def test_the_command_prints_a_table_and_fails_on_an_error_check(temporary_checks, capsys):
    temporary_checks("test.error", severity=Severity.ERROR, description="e")(
        lambda: Outcome(count=2, detail="two bad")
    )
    temporary_checks("test.warning", severity=Severity.WARNING, description="w")(
        lambda: Outcome(count=1)
    )
    with pytest.raises(CommandError, match=r"1 errors, 1 warnings failed.*Failing: test.error"):
        call_command("run_data_quality", "--check", "test.error", "--check", "test.warning")
    table = capsys.readouterr().out
    assert "test.error" in table
    assert "FAIL" in table
    assert "two bad" in table

    call_command("run_data_quality", "--check", "test.warning")
    assert "1 checks, 0 errors, 1 warnings failed" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Unknown data-quality check"):
        call_command("run_data_quality", "--check", "nope")


@pytest.mark.django_db
def test_the_task_runs_and_never_overlaps(temporary_checks):
    from django.core.cache import cache

    run_id = run_data_quality.delay().get()
    assert DataQualityRun.objects.get(pk=run_id).triggered_by == "task"
    cache.add("lock:run_data_quality", "1", timeout=60)
    assert run_data_quality.delay().get() is None
    assert DataQualityRun.objects.count() == 1


@pytest.mark.django_db
def test_operators_read_runs_with_links_and_staff_do_not(client, operator, personas, company):
    record = PHIRecordFactory(company=company)
    register_once = registry_module._registry.copy()
    try:
        register("test.admin", severity=Severity.ERROR, model=PHIRecord, description="d")(
            lambda: PHIRecord.objects.filter(location__isnull=True)
        )
        client.force_login(operator)
        response = client.post(reverse("admin:core_dataqualityrun_run"))
        run = DataQualityRun.objects.get()
        assert response.url == reverse("admin:core_dataqualityrun_change", args=[run.pk])
        page = client.get(response.url)
        link = reverse("admin:testapp_phirecord_change", args=[record.pk])
        assert link in page.content.decode()
    finally:
        registry_module._registry.clear()
        registry_module._registry.update(register_once)
    client.force_login(personas[Role.AUDITOR])
    assert client.get(reverse("admin:core_dataqualityrun_changelist")).status_code == 403
    assert client.post(reverse("admin:core_dataqualityrun_run")).status_code == 403


@pytest.mark.django_db
def test_the_default_schedules_exist():
    tasks = dict(PeriodicTask.objects.values_list("task", "name"))
    assert "core.tasks.backup_database" in tasks
    assert PeriodicTask.objects.get(task="core.tasks.run_data_quality").interval.every == 1
    assert PeriodicTask.objects.get(task="core.tasks.backup_database").crontab.hour == "2"


@pytest.mark.django_db
def test_the_billing_schedules_exist():
    tasks = PeriodicTask.objects.filter(task__startswith="hme.").select_related(
        "crontab", "interval"
    )
    crontabs = {
        task.task: (task.crontab.day_of_month, task.crontab.hour, task.crontab.minute)
        for task in tasks
        if task.crontab is not None
    }
    intervals = {
        task.task: (task.interval.every, task.interval.period)
        for task in tasks
        if task.interval is not None
    }
    assert crontabs == {
        "hme.tasks.refresh_coverage_status": ("*", "3", "30"),
        "hme.tasks.expire_authorizations": ("*", "3", "45"),
        "hme.tasks.bill_rental_months": ("*", "4", "0"),
        "hme.tasks.refresh_billing_holds": ("*", "3", "50"),
        "hme.tasks.patient_statements": ("1", "6", "0"),
    }
    assert intervals == {"hme.tasks.exchange_edi": (15, "minutes")}
    assert all(task.enabled for task in tasks)


@pytest.mark.django_db
def test_a_check_whose_sql_fails_does_not_break_the_next_ones(temporary_checks):
    from django.db import connection

    def bad_sql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here")
        return Outcome(count=0)

    temporary_checks("test.a_bad_sql", severity=Severity.ERROR, description="x")(bad_sql)
    temporary_checks("test.b_fine", severity=Severity.ERROR, description="y")(
        lambda: PHIRecord.objects.all()
    )
    run = run_checks(["test.a_bad_sql", "test.b_fine"])
    findings = {f.check_name: f for f in run.findings.all()}
    assert findings["test.a_bad_sql"].detail.startswith("The check crashed")
    assert findings["test.b_fine"].passed


@pytest.mark.django_db
def test_money_comparisons_are_exact_to_the_cent_on_every_database(company):
    from decimal import Decimal

    from django.db.models import Value

    from core.quality.checks import money_differs, money_exceeds
    from tests.hme.factories import PaymentFactory

    payment = PaymentFactory(company=company, amount=Decimal("121.80"))
    payments = type(payment).objects.filter(pk=payment.pk)
    # 71.40 + 50.40 as SQLite sums it is 121.80000000000001: still the same amount.
    total = payments.annotate(two=Value(Decimal("71.40")) + Value(Decimal("50.40")))
    assert not total.filter(money_differs("amount", "two")).exists()
    assert total.filter(money_differs("amount", Value(Decimal("121.79")))).exists()
    assert not payments.filter(money_exceeds("amount", Value(Decimal("121.80")))).exists()
    assert payments.filter(money_exceeds("amount", Value(Decimal("121.79")))).exists()
