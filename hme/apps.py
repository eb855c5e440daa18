from django.apps import AppConfig


class HmeConfig(AppConfig):
    name = "hme"
    verbose_name = "HME billing: payers, coverage, claims, payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import audit  # noqa: F401  (registers the models with auditlog)
