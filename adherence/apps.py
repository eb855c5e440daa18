from django.apps import AppConfig


class AdherenceConfig(AppConfig):
    name = "adherence"
    verbose_name = "PAP adherence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import audit  # noqa: F401  (registers the models with auditlog)
        from .hooks import install

        # hme's readiness check and rental modifier hook, the patient page's panel:
        # those floors never import this one.
        install()
