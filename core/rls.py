"""PostgreSQL row-level security: the second wall behind ``TenantQuerySet.for_user``.

Every tenant table (a model with a ``company`` foreign key to ``accounts.Company``) gets
RLS enabled and forced, and one policy: a row is visible, and may be written, only when
its ``company_id`` equals the session's ``app.company_id`` setting. The application's
queries run as ``settings.DATABASE_APP_ROLE``, a role that owns nothing and has no
BYPASSRLS, so a query that forgot ``for_user`` (or a raw SQL one) still sees one company.

Who sets what (docs/security/rls.md):

* A *scope* (a context variable) says who is acting: nobody (``deny``: the app role, no
  company: no tenant row), a user (their active company; superusers are operators), one
  company (jobs and commands acting for it), or the operator (``operator()``: the
  explicit bypass role ``settings.DATABASE_OPERATOR_ROLE``, for cross-company work:
  seeding, backups, data quality, the event relay, scheduled jobs; empty, the login
  role itself). Schema changes (``migrate``, the policies) run in the ``owner()`` scope:
  the login role itself, which must then be the tables' owner (a release step with the
  owner's credentials); under a login role that owns nothing they fail.
* An execute wrapper on the ``default`` connection puts the scope's role and settings on
  the connection before a query runs, when they differ from what the connection holds
  (one extra round trip when the scope changes, none otherwise; it is not a query Django
  counts). The values are session settings (``set_config(..., false)``): Django runs in
  autocommit, where a transaction-local setting would last one statement. A setting
  made inside a transaction that is rolled back reverts in PostgreSQL; the connection's
  rollbacks (of the transaction or to a savepoint) make the wrapper set it again.

Empty ``DATABASE_APP_ROLE`` (the default, and always on SQLite): nothing here runs and
the application scoping is the only wall.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper

POLICY = "aries_tenant"
REPORT_ALL_POLICY = "aries_report_all"
# The role an analyst of the whole supplier is granted (with a module's report role):
# a SELECT-only policy lets its members read every company's rows.
REPORT_ALL_ROLE = "aries_report_all"
# Read-only reporting roles per module, by app label (docs/decisions/0008).
REPORT_ROLES: dict[str, tuple[str, ...]] = {
    "aries_report_dme": ("dme",),
    "aries_report_hme": ("hme",),
    "aries_report_clinical": ("clinical",),
    "aries_report_shared": ("accounts", "core"),
}
# "none" resets the role to the session (login) user: the tables' owner when the
# process logs in as the owner; a role with no rights of its own when it logs in as a
# login role made by ``setup_db_roles --login-role``.
SESSION_ROLE = "none"

State = tuple[str, str, str]  # (role, app.company_id, app.user_id)


def app_role() -> str:
    return str(getattr(settings, "DATABASE_APP_ROLE", "") or "")


def operator_role() -> str:
    """The explicit bypass role of the operator scope; empty: the login role itself."""
    return str(getattr(settings, "DATABASE_OPERATOR_ROLE", "") or "")


def enabled(connection: BaseDatabaseWrapper | None = None) -> bool:
    """RLS is on: an app role is configured and the database is PostgreSQL."""
    connection = connection or connections[DEFAULT_DB_ALIAS]
    return bool(app_role()) and connection.vendor == "postgresql"


# Scopes ---------------------------------------------------------------------


class Scope:
    def state(self) -> State:
        raise NotImplementedError


@dataclass(frozen=True)
class Fixed(Scope):
    role: str | None  # None: the app role
    company_id: str = ""
    user_id: str = ""

    def state(self) -> State:
        return (self.role or app_role(), self.company_id, self.user_id)


class OperatorScope(Scope):
    """Cross-company work: ``DATABASE_OPERATOR_ROLE`` (BYPASSRLS, owns nothing), or the
    login role when it is empty (read when a query runs, so a setting override holds)."""

    def state(self) -> State:
        return (operator_role() or SESSION_ROLE, "", "")


DENY = Fixed(None)
OPERATOR = OperatorScope()
# Schema changes: the login role itself (the tables' owner in the release step).
OWNER = Fixed(SESSION_ROLE)


def is_bypass(state: State) -> bool:
    """The state of the operator or the owner scope (every company's rows)."""
    return state[0] in {SESSION_ROLE, operator_role() or SESSION_ROLE}


class UserScope(Scope):
    """The user's active company, resolved on the first query that needs it."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._resolving = False

    def state(self) -> State:
        user = self.user
        if getattr(user, "is_superuser", False):
            return OPERATOR.state()
        user_id = str(user.pk)
        if self._resolving:
            return (app_role(), "", user_id)
        from .tenancy import get_active_company_id

        self._resolving = True
        try:
            company_id = get_active_company_id(user)
        finally:
            self._resolving = False
        return (app_role(), str(company_id) if company_id else "", user_id)


class RequestScope(Scope):
    """Whoever ``request.user`` is at query time: anonymous, nothing; signed in, their
    active company. DRF authenticates a token inside the view and then sets the user
    on the Django request, so the permission checks that run before the view already
    see the token user's company."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self._resolving = False
        self._scopes: dict[int, UserScope] = {}

    def state(self) -> State:
        if self._resolving:  # request.user is being loaded (the session's queries)
            return DENY.state()
        self._resolving = True
        try:
            user = getattr(self.request, "user", None)
            authenticated = user is not None and getattr(user, "is_authenticated", False)
        finally:
            self._resolving = False
        if not authenticated:
            return DENY.state()
        scope = self._scopes.get(id(user))
        if scope is None or scope.user is not user:
            scope = self._scopes[id(user)] = UserScope(user)
        return scope.state()


_scope: ContextVar[Scope | None] = ContextVar("ariesone_rls_scope", default=None)
# Outside any scope: nobody (web workers); operator for manage.py and the test suite's
# data setup (``use_operator_by_default``).
_process_default: list[Scope] = [DENY]


def use_operator_by_default() -> None:
    """Queries outside any scope act as the operator (manage.py, the test suite)."""
    _process_default[0] = OPERATOR


def use_deny_by_default() -> None:
    _process_default[0] = DENY


def current_scope() -> Scope:
    return _scope.get() or _process_default[0]


def current_state() -> State:
    return current_scope().state()


@contextmanager
def _scoped(scope: Scope) -> Iterator[None]:
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def deny() -> Any:
    """No tenant row is visible (an anonymous request)."""
    return _scoped(DENY)


def for_request(request: Any) -> Any:
    """A request's scope: its user as authenticated so far (``RequestScope``)."""
    return _scoped(RequestScope(request))


def operator() -> Any:
    """The explicit bypass: cross-company work by the operator (``DATABASE_OPERATOR_ROLE``,
    or the login role when it is empty)."""
    return _scoped(OPERATOR)


def owner() -> Any:
    """Schema changes (migrate, the policies): the login role itself, no ``SET ROLE``.
    Only the tables' owner can run DDL; under a login role that owns nothing it fails."""
    return _scoped(OWNER)


def for_company(company_id: Any) -> Any:
    """One company's rows: a job or command acting for that company."""
    return _scoped(Fixed(None, str(company_id) if company_id else ""))


def for_user(user: Any) -> Any:
    """The user's active company (operators: everything; anonymous: nothing)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return _scoped(DENY)
    return _scoped(UserScope(user))


@contextmanager
def user_lookup(user_id: Any) -> Iterator[None]:
    """While the user's active membership is looked up: their own memberships are
    visible (``rls_user_field`` policies), no company's rows. An operator scope stays."""
    if is_bypass(current_state()):
        yield
        return
    with _scoped(Fixed(None, "", str(user_id))):
        yield


# The connection side ---------------------------------------------------------

_SET_SQL = (
    "SELECT set_config('role', %s, false), set_config('app.company_id', %s, false), "
    "set_config('app.user_id', %s, false)"
)


_TRANSACTION_CONTROL = ("SAVEPOINT ", "ROLLBACK", "RELEASE SAVEPOINT ")


def _apply(connection: BaseDatabaseWrapper, state: State) -> None:
    # The raw psycopg cursor: not logged, not wrapped, not counted as a query.
    with connection.connection.cursor() as cursor:
        cursor.execute(_SET_SQL, state)
    connection.__dict__["_rls_held"] = state


def _held(connection: BaseDatabaseWrapper) -> State | None:
    held: State | None = connection.__dict__.get("_rls_held")
    return held


def _forget_on(method: Callable[..., Any], connection: BaseDatabaseWrapper) -> Callable[..., Any]:
    """A rollback (of the transaction, or to a savepoint) reverts the settings made
    since in PostgreSQL: forget what the connection holds, the next query sets it."""

    def rollback(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            connection.__dict__.pop("_rls_held", None)

    rollback.rls_wrapped = True  # type: ignore[attr-defined]
    return rollback


def _execute_wrapper(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
    connection = context["connection"]
    # Savepoint statements pass as they are (in an aborted transaction nothing else may).
    if app_role() and not (isinstance(sql, str) and sql.startswith(_TRANSACTION_CONTROL)):
        state = current_state()
        if _held(connection) != state:
            _apply(connection, state)
    return execute(sql, params, many, context)


def on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Every new ``default`` connection starts in the current scope (outside any, a web
    worker's is the app role with no company), and every query on it passes through
    the scope wrapper."""
    if connection.alias != DEFAULT_DB_ALIAS or connection.alias == NO_DB_ALIAS:
        return
    if not enabled(connection):
        return
    connection.__dict__.pop("_rls_held", None)
    if _execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(_execute_wrapper)
    for name in ("_rollback", "_savepoint_rollback"):
        method = getattr(connection, name)
        if not getattr(method, "rls_wrapped", False):
            setattr(connection, name, _forget_on(method, connection))
    # What the next query needs anyway; under a web worker that is the app role with no
    # company, so even a raw psycopg cursor starts without the owner's rights.
    _apply(connection, current_state())


def install() -> None:
    """Called from ``CoreConfig.ready``."""
    from django.db.backends.signals import connection_created

    connection_created.connect(on_connection_created, dispatch_uid="core.rls.connection")
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    # Management commands are the operator's tools (migrate, seed_demo, backup, restore,
    # run_data_quality, relay_events...); runserver serves requests, which set their own
    # scope (ActorMiddleware), so the default matters only outside them.
    if argv0 == "manage.py":
        use_operator_by_default()
    try:
        from celery import signals
    except ImportError:  # pragma: no cover - Celery is a dependency
        return
    signals.task_prerun.connect(_task_prerun, dispatch_uid="core.rls.task_prerun", weak=False)
    signals.task_postrun.connect(_task_postrun, dispatch_uid="core.rls.task_postrun", weak=False)


# Celery: a task with a ``company_id`` keyword acts for that company; any other task is
# a system job of the supplier (backups, data quality, pruning, the relay): operator.
_task_tokens: dict[str, Any] = {}


def task_scope(kwargs: dict[str, Any] | None) -> Scope:
    company_id = (kwargs or {}).get("company_id")
    if company_id:
        return Fixed(None, str(company_id))
    return OPERATOR


def _task_prerun(task_id: str | None = None, kwargs: Any = None, **extra: Any) -> None:
    if task_id is not None:
        _task_tokens[task_id] = _scope.set(task_scope(kwargs))


def _task_postrun(task_id: str | None = None, **extra: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        try:
            _scope.reset(token)
        except ValueError:  # set in another context (a thread pool): just clear it
            _scope.set(None)


# Policies, grants and roles --------------------------------------------------


def tenant_models() -> list[type[Any]]:
    """Concrete, managed models with a ``company`` foreign key to accounts.Company."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.abstract or meta.proxy or not meta.managed:
            continue
        try:
            field = meta.get_field("company")
        except FieldDoesNotExist:
            continue
        related = getattr(field, "related_model", None)
        if related is not None and related._meta.label == "accounts.Company":
            found.append(model)
    return found


def _cast(connection: BaseDatabaseWrapper, field: Any) -> str:
    target = field.target_field
    db_type = target.rel_db_type(connection) or "text"
    return str(db_type)


def policy_expression(model: type[Any], connection: BaseDatabaseWrapper) -> str:
    qn = connection.ops.quote_name
    field = model._meta.get_field("company")
    expr = (
        f"{qn(field.column)} = "
        f"NULLIF(current_setting('app.company_id', true), '')::{_cast(connection, field)}"
    )
    if field.null:
        # A row of no company (an access-log line of a deleted company) is nobody's.
        expr = f"({expr} OR {qn(field.column)} IS NULL)"
    user_field_name = getattr(model, "rls_user_field", None)
    if user_field_name:
        user_field = model._meta.get_field(user_field_name)
        expr = (
            f"({expr} OR {qn(user_field.column)} = "
            f"NULLIF(current_setting('app.user_id', true), '')::{_cast(connection, user_field)})"
        )
    return expr


_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

# A group role: no login, no rights over other roles. The operator's role bypasses RLS.
APP_ROLE_ATTRIBUTES = "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
OPERATOR_ROLE_ATTRIBUTES = "NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE"
# What the processes log in as: no rights of its own (NOINHERIT), only SET ROLE to the
# app role or the operator's role.
LOGIN_ROLE_ATTRIBUTES = "LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
# The application's rights on every table and sequence (the app role's and the operator's).
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT, UPDATE"


def check_role_name(role: str) -> str:
    if not _ROLE_NAME.fullmatch(role):
        raise ImproperlyConfigured(f"Not a plain role name: {role!r} (letters, digits, _).")
    return role


def _role_sql(
    role: str, connection: BaseDatabaseWrapper, attributes: str = APP_ROLE_ATTRIBUTES
) -> str:
    qn = connection.ops.quote_name
    literal = check_role_name(role)
    # CREATE ROLE has no IF NOT EXISTS; two sessions may race on it (duplicate_object).
    # The name is checked above (no quote can reach the literal).
    return (
        "DO $$ BEGIN "  # noqa: S608
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{literal}') THEN "
        f"CREATE ROLE {qn(role)} {attributes}; "
        "END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )


def _dml_grants(role: str, connection: BaseDatabaseWrapper) -> list[str]:
    """The application's rights on today's tables and sequences, and on those the
    current user (the owner) creates later (default privileges: a migrate run without
    ``DATABASE_APP_ROLE`` still leaves its new tables usable)."""
    qn = connection.ops.quote_name
    return [
        f"GRANT USAGE ON SCHEMA public TO {qn(role)}",
        f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {qn(role)}",
        f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA public TO {qn(role)}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {TABLE_PRIVILEGES} ON TABLES "
        f"TO {qn(role)}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {SEQUENCE_PRIVILEGES} ON SEQUENCES "
        f"TO {qn(role)}",
    ]


def statements(connection: BaseDatabaseWrapper, create_roles: bool = True) -> list[str]:
    """The SQL that creates the roles and grants and puts RLS on every tenant table.

    Idempotent: run after every migrate (post_migrate) and by ``setup_db_roles``.
    """
    from django.apps import apps

    qn = connection.ops.quote_name
    role = app_role()
    bypass = operator_role() if role else ""
    sql: list[str] = []
    if create_roles:
        if role:
            sql.append(_role_sql(role, connection))
        if bypass:
            sql.append(_role_sql(bypass, connection, OPERATOR_ROLE_ATTRIBUTES))
        sql += [_role_sql(name, connection) for name in (REPORT_ALL_ROLE, *REPORT_ROLES)]
    for name in (role, bypass):
        if name:
            # The owner may act as these roles too (SET ROLE): the test suite and the
            # owner's own commands do.
            sql.append(f"GRANT {qn(name)} TO CURRENT_USER")
            sql += _dml_grants(name, connection)
    tables = set(connection.introspection.table_names())
    for report_role, labels in REPORT_ROLES.items():
        sql.append(f"GRANT USAGE ON SCHEMA public TO {qn(report_role)}")
        for label in labels:
            for model in apps.get_app_config(label).get_models():
                if model._meta.db_table in tables and model._meta.managed:
                    sql.append(f"GRANT SELECT ON {qn(model._meta.db_table)} TO {qn(report_role)}")
    for model in tenant_models():
        table = model._meta.db_table
        if table not in tables:
            continue
        expr = policy_expression(model, connection)
        sql += [
            f"ALTER TABLE {qn(table)} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {qn(table)} FORCE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS {POLICY} ON {qn(table)}",
            f"CREATE POLICY {POLICY} ON {qn(table)} USING ({expr}) WITH CHECK ({expr})",
            f"DROP POLICY IF EXISTS {REPORT_ALL_POLICY} ON {qn(table)}",
            f"CREATE POLICY {REPORT_ALL_POLICY} ON {qn(table)} FOR SELECT "
            f"TO {qn(REPORT_ALL_ROLE)} USING (true)",
        ]
    return sql


def login_role_statements(login_role: str, connection: BaseDatabaseWrapper) -> list[str]:
    """The role the processes log in as: LOGIN, NOINHERIT (no rights of its own), a
    member of the app role and the operator's role only, owning nothing. Its password,
    if any, is set apart (``set_password``): never in these statements."""
    qn = connection.ops.quote_name
    check_role_name(login_role)
    return [
        _role_sql(login_role, connection, LOGIN_ROLE_ATTRIBUTES),
        # An existing role is brought to the same attributes (SUPERUSER and BYPASSRLS
        # only a superuser may change: ``role_problems`` refuses them instead).
        f"ALTER ROLE {qn(login_role)} LOGIN NOINHERIT NOCREATEDB NOCREATEROLE",
        f"GRANT {qn(app_role())} TO {qn(login_role)}",
        f"GRANT {qn(operator_role())} TO {qn(login_role)}",
        "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', "
        f"current_database(), '{login_role}'); END $$",
    ]


def set_password(login_role: str, password: str, connection: BaseDatabaseWrapper) -> None:
    """Set the login role's password, hashed here (SCRAM-SHA-256 by libpq): the
    statement the server sees (and may log) never holds the password itself. Runs on
    the raw psycopg cursor: Django's query log never sees it either."""
    from psycopg import sql as pgsql

    check_role_name(login_role)
    raw = connection.connection
    verifier = raw.pgconn.encrypt_password(
        password.encode(), login_role.encode(), b"scram-sha-256"
    ).decode()
    statement = pgsql.SQL("ALTER ROLE {} PASSWORD {}").format(
        pgsql.Identifier(login_role), pgsql.Literal(verifier)
    )
    with raw.cursor() as cursor:
        cursor.execute(statement)


_ROLE_FACTS = """
SELECT r.rolsuper, r.rolbypassrls, r.rolcanlogin, r.rolinherit,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relowner = r.oid),
       ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
              WHERE m.member = r.oid ORDER BY g.rolname)
  FROM pg_roles r WHERE r.rolname = %s
"""


def role_problems(connection: BaseDatabaseWrapper, login_role: str = "") -> list[str]:
    """What makes the roles unfit for their job, in words (empty: all is well): the app
    role must not bypass RLS, the operator's role must bypass it, neither may own a
    table, and the login role may only become one of them."""
    role, bypass = app_role(), operator_role() if app_role() else ""
    problems: list[str] = []
    with connection.connection.cursor() as cursor:

        def facts(name: str) -> tuple[Any, ...] | None:
            cursor.execute(_ROLE_FACTS, [name])
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row

        for name, must_bypass in ((role, False), (bypass, True)):
            found = facts(name) if name else None
            if found is None:
                continue
            superuser, bypasses, _login, _inherit, owned, _groups = found
            if superuser:
                problems.append(f"{name} is a superuser (ALTER ROLE {name} NOSUPERUSER)")
            elif bypasses != must_bypass:
                change = "BYPASSRLS" if must_bypass else "NOBYPASSRLS"
                problems.append(f"{name} needs {change} (ALTER ROLE {name} {change})")
            if owned:
                problems.append(f"{name} owns {owned} tables; it must own none")
        if login_role:
            found = facts(login_role)
            if found is not None:
                superuser, bypasses, _login, _inherit, owned, groups = found
                if superuser or bypasses:
                    problems.append(
                        f"{login_role} is a superuser or bypasses row-level security "
                        f"(ALTER ROLE {login_role} NOSUPERUSER NOBYPASSRLS)"
                    )
                if owned:
                    problems.append(f"{login_role} owns {owned} tables; it must own none")
                others = sorted(set(groups) - {role, bypass})
                if others:
                    problems.append(
                        f"{login_role} is also a member of {', '.join(others)} "
                        f"(REVOKE {', '.join(others)} FROM {login_role})"
                    )
    return problems


def apply(connection: BaseDatabaseWrapper | None = None, create_roles: bool = True) -> int:
    """Run :func:`statements` as the owner (DDL); return how many tables have RLS."""
    connection = connection or connections[DEFAULT_DB_ALIAS]
    with owner(), connection.cursor() as cursor:
        for statement in statements(connection, create_roles=create_roles):
            cursor.execute(statement)
    return len(tenant_models())


def after_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """post_migrate (sent once per app; every table exists by then: core's is enough)."""
    if getattr(sender, "label", None) != "core":
        return
    connection = connections[using]
    if using != DEFAULT_DB_ALIAS or not enabled(connection):
        return
    apply(connection)
