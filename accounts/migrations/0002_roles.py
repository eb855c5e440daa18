"""Create the role groups. Their permissions are attached after every migrate
(accounts.roles.sync_roles_after_migrate), once every app's permissions exist."""

from django.db import migrations

ROLE_GROUPS = ["Administrator", "Intake", "Clinician", "Warehouse", "Billing", "Auditor"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
