from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts.choices import Role
        from accounts.roles import ROLE_PERMISSIONS
        from core import audit

        from .models import PHIRecord

        audit.register(PHIRecord)
        # The test model is clinical data: the roles that handle patients handle it.
        for role in (Role.ADMINISTRATOR, Role.INTAKE, Role.CLINICIAN):
            ROLE_PERMISSIONS[role].append("testapp.*")
