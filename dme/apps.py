from django.apps import AppConfig


class DmeConfig(AppConfig):
    name = "dme"
    verbose_name = "DME: equipment, stock, orders, deliveries, rentals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            audit,  # noqa: F401  (registers the models with auditlog)
            reference,  # noqa: F401  (the cached catalogue and its invalidation)
        )
        from .notifications import register_templates

        register_templates()
