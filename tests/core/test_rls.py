"""PostgreSQL row-level security (core.rls, docs/security/rls.md).

PostgreSQL only. Each test puts the roles, grants and policies in place inside its own
transaction (``rls.apply``; DDL and GRANT roll back with the test), whether or not the
run has ``DATABASE_APP_ROLE`` set, so the database's wall is tested either way.

Raw tests use the psycopg connection itself (no Django wrapper): the policies alone
decide what a role sees there.
"""

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from accounts.choices import Role
from accounts.models import Location, Membership
from core import rls
from core.models import TenantModel
from hme.models import Payer
from tests.factories import LocationFactory, UserFactory, member
from tests.hme.factories import PayerFactory

APP_ROLE = "aries_app"
# Django's (ORM queries) or psycopg's own (raw connection).
DB_ERRORS = (DatabaseError, psycopg.Error)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rls_on(postgres_only):
    """RLS on for this test: the setting, the policies and the connection's wrapper."""
    with override_settings(DATABASE_APP_ROLE=APP_ROLE):
        connection.ensure_connection()
        rls.apply(connection)
        installed = rls._execute_wrapper in connection.execute_wrappers
        if not installed:
            connection.execute_wrappers.append(rls._execute_wrapper)
        connection.__dict__.pop("_rls_held", None)
        try:
            yield
        finally:
            if not installed:
                connection.execute_wrappers.remove(rls._execute_wrapper)
            # Leave the connection as the operator, as the rest of the test expects.
            with connection.connection.cursor() as cursor:
                cursor.execute(rls._SET_SQL, rls.OPERATOR.state())
            connection.__dict__.pop("_rls_held", None)


def raw(sql, params=None, role=APP_ROLE, company="", user=""):
    """Run ``sql`` on the raw connection as ``role`` with these settings (local to the
    test's transaction); return every row."""
    with connection.connection.cursor() as cursor:
        cursor.execute("SAVEPOINT rls_raw")
        try:
            cursor.execute(
                "SELECT set_config('role', %s, true), set_config('app.company_id', %s, true), "
                "set_config('app.user_id', %s, true)",
                [role, company, user],
            )
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
        except Exception:
            cursor.execute("ROLLBACK TO SAVEPOINT rls_raw")
            raise
        cursor.execute("RELEASE SAVEPOINT rls_raw")
        # set_config(..., true) outlives the savepoint's release: back to the operator.
        cursor.execute("SELECT set_config('role', 'none', true)")
    connection.__dict__.pop("_rls_held", None)
    return rows


@pytest.fixture
def two_companies(rls_on, company, other_company):
    a = LocationFactory(company=company, name="A Main")
    b = LocationFactory(company=other_company, name="B Main")
    return a, b


def test_every_tenant_model_is_covered_automatically(rls_on):
    models = set(rls.tenant_models())
    concrete_tenant = {
        model for model in models if issubclass(model, TenantModel) and not model._meta.abstract
    }
    assert {Location, Membership, Payer} <= models
    # Every concrete TenantModel, the test app's too (added after core's migrations).
    from django.apps import apps

    for model in apps.get_models():
        if issubclass(model, TenantModel) and model._meta.managed and not model._meta.proxy:
            assert model in concrete_tenant, model
    tables = [model._meta.db_table for model in models]
    rows = raw(
        "SELECT relname FROM pg_class WHERE relname = ANY(%s) "
        "AND relrowsecurity AND relforcerowsecurity",
        [tables],
        role="none",
    )
    assert {name for (name,) in rows} == set(tables)


def test_raw_query_without_a_setting_sees_no_tenant_row(two_companies):
    assert raw("SELECT count(*) FROM accounts_location") == [(0,)]
    assert raw("SELECT count(*) FROM hme_payer") == [(0,)]


def test_company_b_setting_sees_none_of_a(two_companies, company, other_company):
    rows = raw("SELECT company_id FROM accounts_location", company=str(other_company.pk))
    assert rows == [(other_company.pk,)]
    assert raw(
        "SELECT count(*) FROM accounts_location WHERE company_id = %s",
        [company.pk],
        company=str(other_company.pk),
    ) == [(0,)]


def test_insert_for_another_company_is_refused(two_companies, company, other_company):
    sql = (
        "INSERT INTO accounts_location (id, created_at, updated_at, company_id, name, kind, "
        "address_line1, address_line2, city, state, postal_code, phone, is_active) "
        "VALUES (gen_random_uuid(), now(), now(), %s, 'Sneaky', 'office', '1 St', '', "
        "'Columbus', 'OH', '43215', '', true)"
    )
    with pytest.raises(DB_ERRORS, match="row-level security"):
        raw(sql, [company.pk], company=str(other_company.pk))
    # Moving B's row into A is refused too (WITH CHECK on UPDATE).
    with pytest.raises(DB_ERRORS, match="row-level security"):
        raw(
            "UPDATE accounts_location SET company_id = %s",
            [company.pk],
            company=str(other_company.pk),
        )
    raw(sql, [other_company.pk], company=str(other_company.pk))
    assert Location.objects.filter(company=other_company).count() == 2
    assert Location.objects.filter(company=company).count() == 1


def test_the_operator_bypass_sees_every_company(two_companies):
    assert raw("SELECT count(*) FROM accounts_location", role="none") == [(2,)]


def test_a_user_sees_their_own_memberships_before_a_company(rls_on, company, other_company):
    user = member(company, Role.BILLING, email="two@a.test")
    Membership.objects.create(user=user, company=other_company, role=Role.INTAKE)
    member(company, Role.ADMINISTRATOR, email="someone@a.test")
    rows = raw("SELECT count(*) FROM accounts_membership", user=str(user.pk))
    assert rows == [(2,)]
    assert raw("SELECT count(*) FROM accounts_membership") == [(0,)]


def test_scopes_drive_unscoped_orm_queries(two_companies, company, other_company):
    """The second wall: a query that forgot for_user still sees one company."""
    b_user = member(other_company, Role.ADMINISTRATOR, email="admin@b.test")
    operator = UserFactory(is_superuser=True, email="ops@aries.test")
    with rls.deny():
        assert Location.objects.count() == 0
    with rls.for_company(company.pk):
        assert list(Location.objects.values_list("name", flat=True)) == ["A Main"]
    with rls.for_user(b_user):
        assert list(Location.objects.values_list("name", flat=True)) == ["B Main"]
    with rls.for_user(operator):
        assert Location.objects.count() == 2
    with rls.operator():
        assert Location.objects.count() == 2
    # Outside any scope the test suite acts as the operator (tests/conftest.py).
    assert Location.objects.count() == 2


def test_the_setting_is_not_counted_as_a_query(two_companies, company, django_assert_num_queries):
    with django_assert_num_queries(2):
        with rls.for_company(company.pk):
            assert Location.objects.count() == 1
        with rls.deny():
            assert Location.objects.count() == 0


def test_a_rolled_back_savepoint_does_not_leave_a_stale_setting(two_companies, company):
    with rls.for_company(company.pk):
        with transaction.atomic(), rls.deny():
            assert Location.objects.count() == 0
            # Rolled back: PostgreSQL reverts the setting made inside.
            transaction.set_rollback(True)
        assert Location.objects.count() == 1
    with transaction.atomic():
        with rls.deny():
            assert Location.objects.count() == 0
        assert Location.objects.count() == 2
        transaction.set_rollback(True)
    with rls.deny():
        assert Location.objects.count() == 0


def test_an_orm_write_for_another_company_is_refused(two_companies, company, other_company):
    with (
        rls.for_company(other_company.pk),
        pytest.raises(DB_ERRORS, match="row-level security"),
        transaction.atomic(),
    ):
        LocationFactory(company=company, name="A Annex")
    assert not Location.objects.filter(name="A Annex").exists()


def test_an_api_list_stays_in_its_company_even_without_for_user(
    two_companies, company, other_company, api_client_for, monkeypatch
):
    """Forget the application scoping: PostgreSQL still returns one company's rows."""
    from core.models import TenantQuerySet

    PayerFactory(company=company, name="A Medicare")
    PayerFactory(company=other_company, name="B Medicare")
    admin = member(company, Role.ADMINISTRATOR, email="admin@a.test")
    monkeypatch.setattr(TenantQuerySet, "for_user", lambda self, user: self)
    response = api_client_for(admin, company).get("/api/v1/payers/")
    assert response.status_code == 200, response.content
    names = [row["name"] for row in response.json()["results"]]
    assert names == ["A Medicare"]
    # And the unscoped admin list of a signed-in user, through the session middleware.


def test_admin_changelist_under_rls_shows_one_company(two_companies, company, client):
    admin = member(company, Role.ADMINISTRATOR, email="admin@a.test")
    client.force_login(admin)
    response = client.get("/admin/accounts/location/")
    assert response.status_code == 200
    assert b"A Main" in response.content
    assert b"B Main" not in response.content


# Reporting roles (docs/decisions/0008-module-schemas.md) -------------------------


def test_billing_analyst_reads_hme_and_is_refused_clinical(rls_on, company, other_company):
    PayerFactory(company=company, name="A Medicare")
    PayerFactory(company=other_company, name="B Medicare")
    role = "aries_report_hme"
    assert raw("SELECT name FROM hme_payer", role=role, company=str(company.pk)) == [
        ("A Medicare",)
    ]
    # Subject to RLS like the app: no setting, no rows.
    assert raw("SELECT count(*) FROM hme_payer", role=role) == [(0,)]
    with pytest.raises(DB_ERRORS, match="permission denied"):
        raw("SELECT count(*) FROM clinical_patient", role=role, company=str(company.pk))
    # Read-only.
    with pytest.raises(DB_ERRORS, match="permission denied"):
        raw("DELETE FROM hme_payer", role=role, company=str(company.pk))


def test_supplier_analyst_reads_every_company_through_report_all(rls_on, company, other_company):
    PayerFactory(company=company, name="A Medicare")
    PayerFactory(company=other_company, name="B Medicare")
    raw(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aries_test_analyst') "
        "THEN CREATE ROLE aries_test_analyst NOLOGIN; END IF; END $$",
        role="none",
    )
    raw("GRANT aries_report_hme, aries_report_all TO aries_test_analyst", role="none")
    rows = raw("SELECT name FROM hme_payer ORDER BY name", role="aries_test_analyst")
    assert rows == [("A Medicare",), ("B Medicare",)]
    with pytest.raises(DB_ERRORS, match="permission denied"):
        raw("SELECT count(*) FROM clinical_patient", role="aries_test_analyst")


def test_shared_role_reads_accounts_not_dme(rls_on, company):
    role = "aries_report_shared"
    LocationFactory(company=company, name="A Main")
    assert raw("SELECT count(*) FROM accounts_location", role=role, company=str(company.pk)) == [
        (1,)
    ]
    with pytest.raises(DB_ERRORS, match="permission denied"):
        raw("SELECT count(*) FROM dme_asset", role=role, company=str(company.pk))


# The command -------------------------------------------------------------------


def test_setup_db_roles_is_idempotent(rls_on, capsys):
    call_command("setup_db_roles")
    call_command("setup_db_roles")
    out = capsys.readouterr().out
    assert out.count("Row-level security on") == 2
    assert "app role aries_app" in out
    rows = raw("SELECT count(*) FROM pg_policies WHERE policyname = %s", [rls.POLICY], role="none")
    assert rows == [(len(rls.tenant_models()),)]


def test_setup_db_roles_prints_its_sql(rls_on, capsys):
    call_command("setup_db_roles", "--print-sql")
    out = capsys.readouterr().out
    assert 'CREATE POLICY aries_tenant ON "accounts_location"' in out
    assert "current_setting('app.company_id', true)" in out


def test_setup_db_roles_refuses_sqlite():
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite refusal")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("setup_db_roles")
