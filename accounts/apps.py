from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts: companies, locations, staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.tenancy import set_membership_resolver

        from . import audit, schema  # noqa: F401  (auditlog registration, OpenAPI auth)
        from .roles import sync_roles_after_migrate

        # core sits below accounts: it asks for the active membership through this hook.
        from .security import lockout  # noqa: F401  (lockouts -> compliance log)
        from .tenancy import get_active_membership

        set_membership_resolver(get_active_membership)
        # The cached access (membership, role and user permissions) and its invalidation.
        from . import access_cache

        access_cache.connect()

        # Permissions exist only once every app has migrated: attach them then.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
