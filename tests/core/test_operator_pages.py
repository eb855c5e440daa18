"""Operators' pages (issue 9, item 8): backups, periodic tasks and their schedules,
data-quality runs are for operators only; a company's staff edit only their own
company (finding: any company's Administrator listed the global backups and tasks)."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

GLOBAL_PAGES = [
    "admin:core_backup_changelist",
    "admin:core_dataqualityrun_changelist",
    "admin:django_celery_beat_periodictask_changelist",
    "admin:django_celery_beat_intervalschedule_changelist",
    "admin:django_celery_beat_crontabschedule_changelist",
    "admin:django_celery_beat_solarschedule_changelist",
    "admin:django_celery_beat_clockedschedule_changelist",
]


@pytest.fixture
def operator():
    return UserFactory(is_superuser=True, is_staff=True, email="operator@aries.test")


@pytest.mark.parametrize("page", GLOBAL_PAGES)
@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.AUDITOR])
def test_company_staff_are_refused_the_global_pages(client, personas, page, role):
    client.force_login(personas[role])
    assert client.get(reverse(page)).status_code == 403


@pytest.mark.parametrize("page", GLOBAL_PAGES)
def test_operators_open_them(client, operator, page):
    client.force_login(operator)
    assert client.get(reverse(page)).status_code == 200


def test_the_index_does_not_list_them_for_an_administrator(client, admin_user):
    client.force_login(admin_user)
    content = client.get(reverse("admin:index")).content.decode()
    assert "Periodic tasks" not in content
    assert reverse("admin:core_backup_changelist") not in content


def test_a_periodic_task_page_is_refused_too(client, admin_user):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.first()
    client.force_login(admin_user)
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "hijacked"}).status_code == 403


def test_an_administrator_sees_and_edits_their_own_company_only(
    client, company, other_company, admin_user
):
    # Also an Auditor of the other company: a role there must not reach here, and the
    # Administrator role here must not edit the other company.
    from accounts.models import Membership

    Membership.objects.create(user=admin_user, company=other_company, role=Role.AUDITOR)
    client.force_login(admin_user)
    listed = client.get(reverse("admin:accounts_company_changelist")).context["cl"].result_list
    assert list(listed) == [company]
    assert (
        client.get(reverse("admin:accounts_company_change", args=[company.pk])).status_code == 200
    )
    other = reverse("admin:accounts_company_change", args=[other_company.pk])
    assert client.get(other).status_code == 404
    assert client.get(reverse("admin:accounts_company_add")).status_code == 403
    delete = reverse("admin:accounts_company_delete", args=[company.pk])
    assert client.get(delete).status_code == 403


def test_operators_manage_every_company(client, operator, company, other_company):
    client.force_login(operator)
    listed = client.get(reverse("admin:accounts_company_changelist")).context["cl"].result_list
    assert {company, other_company} <= set(listed)
    assert client.get(reverse("admin:accounts_company_add")).status_code == 200


def test_another_companys_administrator_gets_a_404_on_ours(client, company, other_company):
    theirs = member(other_company, Role.ADMINISTRATOR, email="admin2@b.test")
    client.force_login(theirs)
    url = reverse("admin:accounts_company_change", args=[company.pk])
    assert client.get(url).status_code == 404
