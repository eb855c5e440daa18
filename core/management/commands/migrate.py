"""Django's ``migrate``, run as the tables' owner under row-level security.

Schema changes need the owner (only it may ``CREATE``/``ALTER`` its tables): outside this
scope a ``manage.py`` command acts as the operator, which with ``DATABASE_OPERATOR_ROLE``
set is a role that owns nothing. In the ``owner`` scope the queries run as the login role
itself, so ``migrate`` works with the owner's credentials (the release step) and fails,
as it should, under a login role made by ``setup_db_roles --login-role``
(docs/security/rls.md).
"""

from typing import Any

from django.core.management.commands import migrate

from core import rls


class Command(migrate.Command):
    def handle(self, *args: Any, **options: Any) -> Any:
        with rls.owner():
            return super().handle(*args, **options)
