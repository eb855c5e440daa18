from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core: audit, access log, operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        # Each app registers its data-quality checks in <app>/checks_dq.py.
        autodiscover_modules("checks_dq")
