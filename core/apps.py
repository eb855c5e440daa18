from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core: audit, access log, operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.utils.module_loading import autodiscover_modules

        from . import metrics, slow_queries

        # Each app registers its data-quality checks in <app>/checks_dq.py.
        autodiscover_modules("checks_dq")
        # Every connection counts and times its queries and logs the slow ones.
        connection_created.connect(slow_queries.install, dispatch_uid="core.slow_queries")
        metrics.connect_celery_signals()

        # PostgreSQL row-level security (docs/security/rls.md): off unless
        # DATABASE_APP_ROLE is set.
        from django.db.models.signals import post_migrate

        from . import rls

        rls.install()
        post_migrate.connect(rls.after_migrate, dispatch_uid="core.rls.after_migrate")
