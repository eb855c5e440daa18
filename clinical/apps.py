from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"
    verbose_name = "Clinical: patients, prescribers, records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            audit,  # noqa: F401  (registers the models with auditlog)
            reference,  # noqa: F401  (the ICD-10 cache's invalidation)
        )
        from .notifications import register_templates

        register_templates()
