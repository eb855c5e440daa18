from django.apps import AppConfig


class ResupplyConfig(AppConfig):
    name = "resupply"
    verbose_name = "Resupply: replacement schedules, patient outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from hme.readiness import register_check

        from . import audit  # noqa: F401  (registers the models with auditlog)
        from .admin_hooks import install_admin_hooks
        from .notifications import register_templates
        from .readiness import resupply_confirmation

        register_templates()
        register_check(resupply_confirmation)
        # The patient page of clinical gets its resupply panel and step from here.
        install_admin_hooks()
