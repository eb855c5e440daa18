"""The application's login role and the operator's bypass role (docs/security/rls.md).

PostgreSQL only. A second, real psycopg connection logs in as a login role made by
``setup_db_roles --login-role`` in the test database: it is not the tables' owner, has
no rights of its own (NOINHERIT), and acts only as the app role (RLS applies) or as the
operator's role (BYPASSRLS, owns nothing). Its rows and grants must be committed for that
connection to see them, so these tests are transactional (the rows are flushed after).

Roles: ``aries_app`` and ``aries_operator`` are created if missing and left in place
(cluster-wide, shared with CI's runs, owning nothing); each run's login role has a
random name and is dropped by the test that made it.
"""

import secrets

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection
from django.test import override_settings

from core import rls
from tests.factories import LocationFactory

APP_ROLE = "aries_app"
OPERATOR_ROLE = "aries_operator"

pytestmark = pytest.mark.django_db
# Committed rows and grants, for another connection to read (the closest mark wins); the
# bad-input tests need no other connection and stay in a rolled-back transaction.
committed = pytest.mark.django_db(transaction=True)


def _drop_role(name):
    with connection.cursor() as cursor, rls.owner():
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone():
            # Its grants in this database (CONNECT, memberships), then the role.
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def roles(postgres_only):
    with override_settings(DATABASE_APP_ROLE=APP_ROLE, DATABASE_OPERATOR_ROLE=OPERATOR_ROLE):
        yield


@pytest.fixture
def login(roles, tmp_path):
    """``setup_db_roles --login-role`` with a password file: (role, password)."""
    name = f"aries_test_login_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    password_file = tmp_path / "password"
    password_file.write_text(f"{password}\n")
    try:
        call_command("setup_db_roles", "--login-role", name, "--password-file", str(password_file))
        yield name, password
    finally:
        _drop_role(name)


@pytest.fixture
def two_companies(login, company, other_company):
    return (
        LocationFactory(company=company, name="A Main"),
        LocationFactory(company=other_company, name="B Main"),
    )


def _connect(role, password):
    settings_dict = connection.settings_dict
    return psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        dbname=settings_dict["NAME"],
        user=role,
        password=password,
        autocommit=True,
    )


@pytest.fixture
def as_login(login, two_companies):
    """A raw connection logged in as the login role."""
    conn = _connect(*login)
    try:
        yield conn
    finally:
        conn.close()


def _rows(conn, sql, params=None):
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _company_setting(conn, company_id):
    _rows(conn, "SELECT set_config('app.company_id', %s, false)", [str(company_id or "")])


@committed
def test_as_the_app_it_sees_one_company_at_most(as_login, login, company, other_company):
    assert _rows(as_login, "SELECT session_user, current_user") == [(login[0], login[0])]
    _rows(as_login, f"SET ROLE {APP_ROLE}")
    # No setting: no tenant row.
    assert _rows(as_login, "SELECT count(*) FROM accounts_location") == [(0,)]
    # Company B's setting: none of A's.
    _company_setting(as_login, other_company.pk)
    assert _rows(as_login, "SELECT name FROM accounts_location") == [("B Main",)]
    assert _rows(
        as_login, "SELECT count(*) FROM accounts_location WHERE company_id = %s", [company.pk]
    ) == [(0,)]


@committed
def test_reset_role_is_not_the_owner(as_login, login, company):
    """The login itself is no escape: it has no rights of its own and owns nothing."""
    _rows(as_login, f"SET ROLE {APP_ROLE}")
    _company_setting(as_login, company.pk)
    _rows(as_login, "RESET ROLE")
    assert _rows(as_login, "SELECT current_user") == [(login[0],)]
    _company_setting(as_login, "")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _rows(as_login, "SELECT count(*) FROM accounts_location")
    for statement in (
        "ALTER TABLE accounts_location DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE accounts_location NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY aries_tenant ON accounts_location",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
            _rows(as_login, statement)
    # Nor can it become the owner.
    owner = connection.settings_dict["USER"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _rows(as_login, f'SET ROLE "{owner}"')


@committed
def test_only_the_operator_role_crosses_companies(as_login):
    _rows(as_login, f"SET ROLE {APP_ROLE}")
    # The app role's own setting only narrows; switching RLS off is refused.
    _rows(as_login, "SET row_security = off")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        _rows(as_login, "SELECT count(*) FROM accounts_location")
    _rows(as_login, "RESET row_security")
    _rows(as_login, f"SET ROLE {OPERATOR_ROLE}")
    assert _rows(as_login, "SELECT name FROM accounts_location ORDER BY name") == [
        ("A Main",),
        ("B Main",),
    ]
    # The bypass reads and writes rows; it changes no table, policy or role.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
        _rows(as_login, "ALTER TABLE accounts_location DISABLE ROW LEVEL SECURITY")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _rows(as_login, "CREATE TABLE aries_sneaky (id int)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _rows(as_login, f"GRANT {OPERATOR_ROLE} TO {APP_ROLE}")


@committed
def test_the_scopes_on_a_login_connection(login, two_companies, other_company):
    """core.rls on a Django connection that logs in as the login role: the operator
    scope is ``SET ROLE aries_operator``, the owner scope (migrate) has no rights."""
    wrapper = connection.copy(alias=DEFAULT_DB_ALIAS)
    wrapper.settings_dict.update(USER=login[0], PASSWORD=login[1])
    try:

        def run(sql):
            with wrapper.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

        names = "SELECT current_user, count(*) FROM accounts_location GROUP BY 1"
        with rls.deny():
            assert run("SELECT current_user, (SELECT count(*) FROM accounts_location)") == [
                (APP_ROLE, 0)
            ]
        with rls.for_company(other_company.pk):
            assert run("SELECT name FROM accounts_location") == [("B Main",)]
        with rls.operator():
            assert run(names) == [(OPERATOR_ROLE, 2)]
        with rls.owner():
            assert run("SELECT current_user") == [(login[0],)]
            with pytest.raises(DatabaseError, match="permission denied"):
                run("SELECT count(*) FROM accounts_location")
    finally:
        wrapper.close()


@committed
def test_setup_db_roles_makes_roles_that_own_nothing(capsys, login):
    name = login[0]
    facts = """
        SELECT rolname, rolcanlogin, rolinherit, rolsuper, rolbypassrls, rolcreaterole,
               rolcreatedb,
               (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid),
               ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                      WHERE m.member = r.oid ORDER BY g.rolname)
          FROM pg_roles r WHERE rolname = ANY(%s) ORDER BY rolname
    """
    with connection.cursor() as cursor:
        cursor.execute(facts, [[APP_ROLE, OPERATOR_ROLE, name]])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    assert rows[name] == (True, False, False, False, False, False, 0, [APP_ROLE, OPERATOR_ROLE])
    assert rows[OPERATOR_ROLE][:7] == (False, True, False, True, False, False, 0)
    assert rows[APP_ROLE][:7] == (False, True, False, False, False, False, 0)
    # The password reached the server hashed (never the password itself).
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [name])
            stored = cursor.fetchone()[0]
            assert stored.startswith("SCRAM-SHA-256$")
            assert login[1] not in stored
    # Idempotent, and the password is never echoed.
    call_command("setup_db_roles", "--login-role", name)
    out = capsys.readouterr().out
    assert f"login role {name} (password set)" in out
    assert f"login role {name} (password unchanged)" in out
    assert f"operator role {OPERATOR_ROLE}" in out
    assert login[1] not in out


@committed
def test_tables_created_later_are_granted(login):
    """Default privileges: a table the owner creates after setup_db_roles (a migrate
    run without DATABASE_APP_ROLE) is usable by the app and the operator's role."""
    with connection.cursor() as cursor, rls.owner():
        cursor.execute("CREATE TABLE aries_test_later (id serial PRIMARY KEY, note text)")
    try:
        conn = _connect(*login)
        try:
            for role in (APP_ROLE, OPERATOR_ROLE):
                _rows(conn, f"SET ROLE {role}")
                _rows(conn, "INSERT INTO aries_test_later (note) VALUES ('x')")
            assert _rows(conn, "SELECT count(*) FROM aries_test_later") == [(2,)]
        finally:
            conn.close()
    finally:
        with connection.cursor() as cursor, rls.owner():
            cursor.execute("DROP TABLE aries_test_later")


# Bad input: one readable line, nothing changed -------------------------------------


def test_a_login_role_needs_the_operator_role(postgres_only):
    with (
        override_settings(DATABASE_APP_ROLE=APP_ROLE, DATABASE_OPERATOR_ROLE=""),
        pytest.raises(CommandError, match="needs DATABASE_APP_ROLE and DATABASE_OPERATOR_ROLE"),
    ):
        call_command("setup_db_roles", "--login-role", "aries_test_nobody")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--login-role", 'x"; DROP TABLE y; --'], "Not a plain role name"),
        (["--login-role", APP_ROLE], "must be a role of its own"),
        (["--login-role", OPERATOR_ROLE], "must be a role of its own"),
        (["--password-file", "/nonexistent"], "--password-file needs --login-role"),
        (["--login-role", "aries_test_x", "--password-file", "/nonexistent"], "Cannot read"),
    ],
)
def test_setup_db_roles_refuses_bad_input(roles, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("setup_db_roles", *args)


def test_the_owner_cannot_be_the_login_role(roles):
    owner = connection.settings_dict["USER"]
    with pytest.raises(CommandError, match="must be a role of its own"):
        call_command("setup_db_roles", "--login-role", owner)


def test_a_login_role_with_other_memberships_is_refused(roles):
    """Refused, and rolled back (the role, made inside the test's transaction, too)."""
    name = f"aries_test_login_{secrets.token_hex(4)}"
    call_command("setup_db_roles")
    with connection.cursor() as cursor, rls.owner():
        cursor.execute(f'CREATE ROLE "{name}" LOGIN')
        cursor.execute(f'GRANT aries_report_all TO "{name}"')
    with pytest.raises(CommandError, match=f"also a member of aries_report_all.*{name}"):
        call_command("setup_db_roles", "--login-role", name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(%s, %s, 'MEMBER'), pg_has_role(%s, %s, 'MEMBER')",
            [name, APP_ROLE, name, OPERATOR_ROLE],
        )
        assert cursor.fetchone() == (False, False)
