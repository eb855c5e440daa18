"""Create the PostgreSQL roles and grants and put row-level security on the tenant tables."""

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from core import rls


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Command(BaseCommand):
    help = (
        "Create the app role (DATABASE_APP_ROLE), the operator's bypass role "
        "(DATABASE_OPERATOR_ROLE), the read-only reporting roles and their grants, enable "
        "row-level security with its policy on every tenant table, and with --login-role "
        "the role the processes log in as. Idempotent; run as the tables' owner "
        "(docs/security/rls.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--print-sql", action="store_true", help="print the statements, run nothing"
        )
        parser.add_argument(
            "--login-role",
            default="",
            help="also create (or check) this LOGIN role for the application: NOINHERIT, "
            "owns nothing, a member of the app role and the operator's role only",
        )
        parser.add_argument(
            "--password-file",
            default="",
            help="the login role's password: the file's first line (never printed; "
            "/dev/stdin reads a pipe). Without it the password is left as it is",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The release step, as the tables' owner (DDL, grants; the roles may not exist yet).
        with rls.owner():
            self._handle(**options)

    def _handle(self, database: str = DEFAULT_DB_ALIAS, **options: Any) -> None:
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("Row-level security needs PostgreSQL (DATABASE_URL).")
        login_role = options["login_role"]
        if options["password_file"] and not login_role:
            raise CommandError("--password-file needs --login-role.")
        password = self._password(options["password_file"]) if options["password_file"] else None
        try:
            if login_role:
                self._check_login_role(login_role, connection)
            if options["print_sql"]:
                login_sql = rls.login_role_statements(login_role, connection) if login_role else []
                for statement in [*rls.statements(connection), *login_sql]:
                    self.stdout.write(f"{statement};")
                return
            with transaction.atomic(using=database):
                tables = rls.apply(connection)
                if login_role:
                    self._make_login_role(login_role, password, connection)
                problems = rls.role_problems(connection, login_role)
                if problems:
                    # Rolled back with the rest: nothing is half set up.
                    raise CommandError(f"The roles are not safe: {'; '.join(problems)}.")
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            # The server's message names a role or a table, never a row's values.
            raise CommandError(f"Could not set up the roles: {_first_line(exc)}") from exc
        self.stdout.write(self._summary(tables, login_role, password))

    def _password(self, path: str) -> str:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(
                f"Cannot read the password file {path}: {type(exc).__name__}."
            ) from None
        if not lines or not lines[0]:
            raise CommandError(f"The password file {path} is empty.")
        return lines[0]

    def _check_login_role(self, login_role: str, connection: Any) -> None:
        if not rls.app_role() or not rls.operator_role():
            raise CommandError(
                "--login-role needs DATABASE_APP_ROLE and DATABASE_OPERATOR_ROLE: the login "
                "role has no rights of its own and acts only through them."
            )
        rls.check_role_name(login_role)
        settings_user = str(connection.settings_dict.get("USER") or "")
        with connection.cursor() as cursor:
            cursor.execute("SELECT session_user")
            session_user = cursor.fetchone()[0]
        if login_role in {session_user, settings_user, rls.app_role(), rls.operator_role()}:
            raise CommandError(
                f"The login role {login_role} must be a role of its own: not the tables' "
                "owner this command runs as, nor the app or the operator's role."
            )

    def _make_login_role(self, login_role: str, password: str | None, connection: Any) -> None:
        with connection.cursor() as cursor:
            for statement in rls.login_role_statements(login_role, connection):
                cursor.execute(statement)
        if password is not None:
            rls.set_password(login_role, password, connection)

    def _summary(self, tables: int, login_role: str, password: str | None) -> str:
        role = rls.app_role() or "(none: DATABASE_APP_ROLE is empty, RLS stays off)"
        bypass = (rls.operator_role() or "(none: the login role itself)") if rls.app_role() else ""
        parts = [f"Row-level security on {tables} tenant tables; app role {role}"]
        if bypass:
            parts.append(f"operator role {bypass}")
        if login_role:
            parts.append(f"login role {login_role} (password {'set' if password else 'unchanged'})")
        parts.append(f"reporting roles {', '.join(rls.REPORT_ROLES)} and {rls.REPORT_ALL_ROLE}.")
        return "; ".join(parts)
