"""``bench.logs.load`` (PostgreSQL only): the rows it generates inside the database have
the shape the application writes, and the trails keep their real indexes."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Company
from bench import logs
from clinical.models import Patient
from core.models import AccessLog, AuditEntry
from tests.clinical.factories import PatientFactory
from tests.factories import CompanyFactory, member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 300


class Progress:
    def __init__(self):
        self.done = 0

    def update(self, count):
        self.done += count


def url():
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}"
        f"/{settings['NAME']}"
    )


def indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('core_accesslog', 'core_auditentry')"
        )
        return set(cursor.fetchall())


@pytest.fixture
def demo(postgres_only):
    company = CompanyFactory(name="Aries Demo Medical Supply")
    staff = [member(company, role, email=f"{role.value}@demo.test") for role in Role]
    # Creating them writes their audit entries: the templates of the generated ones.
    patients = PatientFactory.create_batch(3, company=company)
    return company, staff, patients


def test_it_generates_both_trails_with_valid_rows_and_the_real_indexes(demo):
    company, staff, patients = demo
    before = indexes()
    last_entry = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    progress = Progress()

    spent = logs.load(url(), ROWS, progress)

    assert progress.done == ROWS
    assert set(spent) == {"insert", "indexes", "vacuum"}
    # Dropped before the load, rebuilt after by their own definitions.
    assert indexes() == before
    rows = AccessLog.objects.all()
    assert rows.count() == ROWS
    other = Company.objects.exclude(pk=company.pk).get()
    # A tenth for a second company, each company's chain numbered from 1.
    assert rows.filter(company=other).count() == ROWS // 10
    ours = rows.filter(company=company)
    assert sorted(ours.values_list("seq", flat=True)) == list(range(1, ROWS - ROWS // 10 + 1))
    assert set(ours.values_list("user_id", flat=True)) <= {user.pk for user in staff}
    assert not ours.filter(user_email="").exists()
    patient_type = ContentType.objects.get_for_model(Patient)
    viewed = set(ours.filter(content_type=patient_type).values_list("object_id", flat=True))
    assert viewed <= {str(patient.pk) for patient in patients}
    assert set(rows.values_list("via", flat=True)) <= {"admin", "api", "page"}
    assert set(rows.values_list("action", flat=True)) <= {"view", "list", "export"}
    assert not rows.filter(hash="").exists()
    # The trails are partitioned by month (core.partitions): the load made the months'
    # partitions first, so no generated row fell into the default one.
    with connection.cursor() as cursor:
        for table in logs.TRAILS:
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE tableoid::regclass::text = %s",  # noqa: S608
                [f"{table}_default"],
            )
            assert cursor.fetchone()[0] == 0, table
    # Six years, in time order (an append-only trail's physical order).
    stamps = list(rows.order_by("id").values_list("timestamp", flat=True))
    assert stamps == sorted(stamps)
    assert stamps[0] > timezone.now() - datetime.timedelta(days=365 * logs.YEARS + 1)
    assert stamps[-1] <= timezone.now()
    generated = AuditEntry.objects.filter(id__gt=last_entry)
    assert generated.count() == ROWS
    mine = generated.filter(company=company, actor__isnull=False)
    assert mine.count() == ROWS - ROWS // 10
    assert set(mine.values_list("actor_id", flat=True)) <= {user.pk for user in staff}
    assert set(mine.filter(content_type=patient_type).values_list("object_pk", flat=True)) <= {
        str(patient.pk) for patient in patients
    }
