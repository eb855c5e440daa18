"""The access log and audit entries at tens of millions of rows (issue 19, item 4): the
admin opens on the last 7 days (a filter widens it), filters by user, searches an exact
record id only (never ``UPPER(...)``; an e-mail in ``?q=`` is refused by the PHI guard),
counts at most 1,001 rows, and every filter it offers has a company-leading index."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core import pagination
from core.models import AccessLog, AuditEntry
from core.pagination import AtLeast, bounded_count

pytestmark = pytest.mark.django_db

ACCESS = "admin:core_accesslog_changelist"
AUDIT = "admin:core_auditentry_changelist"


def access(company, days_ago, user=None, object_id="42", via="admin"):
    user_type = ContentType.objects.get_for_model(AccessLog)
    return AccessLog.objects.create(
        timestamp=timezone.now() - datetime.timedelta(days=days_ago),
        user=user,
        user_email=user.email if user else "",
        company=company,
        content_type=user_type,
        object_id=object_id,
        via=via,
        action="view",
    )


def audit(company, days_ago, actor=None, object_pk="42"):
    return AuditEntry.objects.create(
        timestamp=timezone.now() - datetime.timedelta(days=days_ago),
        actor=actor,
        actor_email=actor.email if actor else "",
        company=company,
        content_type=ContentType.objects.get_for_model(AuditEntry),
        object_pk=object_pk,
        object_repr="x",
        action=1,
    )


def since(days):
    """A date filter's bound, as the admin's links write it (an aware midnight)."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return str(midnight - datetime.timedelta(days=days))


def listed(client, name, **params):
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


@pytest.fixture
def auditor(client, personas):
    client.force_login(personas[Role.AUDITOR])
    return client


def test_the_access_log_opens_on_the_last_7_days_and_widens(auditor, company):
    recent, old = access(company, 1), access(company, 20)
    assert listed(auditor, ACCESS) == {recent}
    assert listed(auditor, ACCESS, timestamp__gte=since(30)) == {recent, old}
    page = auditor.get(reverse(ACCESS)).content.decode()
    assert "Past 7 days" in page
    assert "Past 30 days" in page
    assert "Past 6 years (all kept)" in page


def test_the_audit_entries_open_on_the_last_7_days(auditor, company):
    AuditEntry.objects.all().delete()
    recent, old = audit(company, 2), audit(company, 40)
    assert listed(auditor, AUDIT) == {recent}
    assert listed(auditor, AUDIT, timestamp__gte=since(365)) == {recent, old}


def test_an_exact_search_looks_across_every_date_and_only_exactly(auditor, company):
    old = access(company, 300, object_id="abc-1")
    access(company, 1, object_id="abc-2")
    assert listed(auditor, ACCESS, q="abc-1") == {old}
    # A prefix or a part finds nothing: equality only.
    assert listed(auditor, ACCESS, q="abc") == set()
    entry = audit(company, 100, object_pk="p-9")
    assert listed(auditor, AUDIT, q="p-9") == {entry}
    assert listed(auditor, AUDIT, q="p-") == set()


def test_the_user_filter_lists_the_companys_staff_and_narrows(auditor, company, personas, outsider):
    nurse, intake = personas[Role.CLINICIAN], personas[Role.INTAKE]
    theirs = access(company, 1, user=nurse)
    access(company, 1, user=intake)
    assert listed(auditor, ACCESS, user=nurse.pk) == {theirs}
    page = auditor.get(reverse(ACCESS)).content.decode()
    assert nurse.email in page
    assert outsider.email not in page
    entry = audit(company, 1, actor=nurse)
    audit(company, 1, actor=intake)
    assert listed(auditor, AUDIT, actor=nurse.pk) == {entry}
    assert listed(auditor, ACCESS, user="x") == set()


def test_an_email_in_the_address_bar_is_refused_not_searched(auditor, company, personas):
    access(company, 1, user=personas[Role.CLINICIAN])
    response = auditor.get(reverse(ACCESS), {"q": "clinician@a.test"})
    assert response.status_code == 302
    assert "q=" not in response["Location"]


def test_the_search_compares_columns_as_they_are_never_upper_cased(auditor, company):
    access(company, 1)
    for name in (ACCESS, AUDIT):
        with CaptureQueriesContext(connection) as queries:
            auditor.get(reverse(name), {"q": "42"})
        trail = [q["sql"] for q in queries.captured_queries if "core_a" in q["sql"]]
        assert trail
        assert not any("UPPER(" in sql or " LIKE " in sql for sql in trail), trail


def test_another_companys_rows_are_never_listed_nor_found(
    auditor, company, other_company, outsider
):
    theirs = access(other_company, 1, user=outsider, object_id="77")
    assert theirs not in listed(auditor, ACCESS)
    assert listed(auditor, ACCESS, user=outsider.pk) == set()
    assert listed(auditor, ACCESS, q="77") == set()
    assert auditor.get(reverse("admin:core_accesslog_change", args=[theirs.pk])).status_code == 404


def test_staff_without_the_view_permission_are_refused(client, personas):
    client.force_login(personas[Role.INTAKE])
    assert client.get(reverse(ACCESS)).status_code == 403
    assert client.get(reverse(AUDIT)).status_code == 403


def test_the_count_stops_past_the_bound(company):
    for _ in range(5):
        access(company, 1)
    rows = AccessLog.objects.filter(company=company)
    assert bounded_count(rows, 10) == 5
    counted = bounded_count(rows, 3)
    assert isinstance(counted, AtLeast)
    assert counted == 4
    assert str(counted) == "3+"


def test_a_filtered_page_shows_the_bounded_count(auditor, company, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_BOUND", 2)
    for _ in range(4):
        access(company, 1, via="api")
    response = auditor.get(reverse(ACCESS), {"via__exact": "api"})
    assert response.status_code == 200
    assert "2+" in response.content.decode()
    with CaptureQueriesContext(connection) as queries:
        auditor.get(reverse(ACCESS), {"via__exact": "api"})
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert counts
    assert all("LIMIT 3" in sql for sql in counts if "core_accesslog" in sql)


def test_the_page_costs_the_same_queries_for_2_and_30_rows(auditor, company):
    for _ in range(2):
        access(company, 1)
    with CaptureQueriesContext(connection) as few:
        auditor.get(reverse(ACCESS))
    for _ in range(28):
        access(company, 1)
    with CaptureQueriesContext(connection) as many:
        auditor.get(reverse(ACCESS))
    assert len(many) == len(few)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({"user": "USER"}, ("accesslog_company_user_idx", "company_id_user_id_timestamp_idx")),
        ({"q": "42"}, ("accesslog_company_object_idx", "company_id_object_id_timestamp_idx")),
        ({"via__exact": "api"}, ("accesslog_company_via_idx", "company_id_via_timestamp_idx")),
        (
            {"action__exact": "view"},
            ("accesslog_company_action_idx", "company_id_action_timestamp_idx"),
        ),
    ],
)
def test_each_filter_and_search_has_its_index(auditor, company, personas, params, index):
    nurse = personas[Role.CLINICIAN]
    access(company, 1, user=nurse)
    # A trail of 3,000 rows over two years, four users, every channel and action, with
    # fresh statistics: the planner then weighs the indexes as on a big table.
    users = [personas[role] for role in (Role.CLINICIAN, Role.INTAKE, Role.BILLING, Role.WAREHOUSE)]
    record_type = ContentType.objects.get_for_model(AccessLog)
    now = timezone.now()
    AccessLog.objects.bulk_create(
        AccessLog(
            timestamp=now - datetime.timedelta(hours=6 * index),
            user=users[index % 4],
            user_email=users[index % 4].email,
            company=company,
            content_type=record_type,
            object_id=str(1000 + index),
            via=("admin", "api", "page")[index % 3],
            action=("view", "list", "export", "view", "view")[index % 5],
        )
        for index in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_accesslog")
    params = {key: nurse.pk if value == "USER" else value for key, value in params.items()}
    with CaptureQueriesContext(connection) as queries:
        auditor.get(reverse(ACCESS), params)
    pages = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "core_accesslog"."id", ')
    ]
    assert pages, [q["sql"][:400] for q in queries.captured_queries if "accesslog" in q["sql"]]
    page = pages[0]
    with connection.cursor() as cursor:
        # Scans priced out: the plan shows which index serves the condition.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + page)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    # The index itself, or (partitioned, core.partitions) its copy on each partition,
    # which PostgreSQL names after the partition and the columns.
    assert any(name in plan for name in index), plan
