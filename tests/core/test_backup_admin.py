"""The backup history in the admin: read-only, for operators only."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core.choices import BackupStatus, BackupTrigger
from core.models import Backup
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:core_backup_changelist"


def make_backups(count):
    now = timezone.now()
    return Backup.objects.bulk_create(
        Backup(
            started_at=now - datetime.timedelta(days=n),
            finished_at=now - datetime.timedelta(days=n) + datetime.timedelta(seconds=4),
            status=BackupStatus.SUCCEEDED,
            vendor="postgresql",
            file_name=f"ariesone-2026010{n % 10}T020000Z-postgresql-{n:08x}.backup",
            size_bytes=1536 * (n + 1),
            duration=datetime.timedelta(seconds=4),
            row_count=1000,
            trigger=BackupTrigger.TASK,
        )
        for n in range(count)
    )


@pytest.fixture
def operator():
    return UserFactory(is_superuser=True, email="operator@aries.test")


def test_operators_see_the_history_with_sizes(client, operator):
    make_backups(2)
    client.force_login(operator)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    content = response.content.decode()
    assert "ariesone-20260100T020000Z-postgresql-00000000.backup" in content
    assert "1.5 KiB" in content


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.AUDITOR, Role.INTAKE])
def test_company_staff_may_not_view_the_global_backups(client, personas, role):
    make_backups(1)
    client.force_login(personas[role])
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_nobody_adds_changes_or_deletes_a_backup_row(client, operator):
    (backup,) = make_backups(1)
    client.force_login(operator)
    assert client.get(reverse("admin:core_backup_add")).status_code == 403
    assert client.get(reverse("admin:core_backup_delete", args=[backup.pk])).status_code == 403
    response = client.post(reverse("admin:core_backup_change", args=[backup.pk]), {})
    assert response.status_code == 403
    page = client.get(reverse("admin:core_backup_change", args=[backup.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_the_changelist_query_count_does_not_grow_with_rows(client, operator):
    client.force_login(operator)
    make_backups(1)
    client.get(reverse(CHANGELIST))  # warm the session and content type caches
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    make_backups(49)
    with CaptureQueriesContext(connection) as fifty:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    assert len(fifty) == len(one)
