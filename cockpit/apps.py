from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CockpitConfig(AppConfig):
    default = True
    name = "cockpit"
    verbose_name = "Cockpit: menu and role dashboards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The patient page's panels of the apps below (core.admin_panels).
        from . import patient_panels

        patient_panels.register()


class CockpitAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the cockpit's site as ``admin.site``: the menu
    grouped by the work and the dashboards as the index (``cockpit.site``)."""

    default = False
    default_site = "cockpit.site.CockpitAdminSite"
