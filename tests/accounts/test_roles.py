import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.choices import Role
from accounts.roles import group_name


@pytest.mark.django_db
def test_every_role_is_a_group_with_permissions():
    groups = {group.name: group for group in Group.objects.prefetch_related("permissions")}
    assert set(groups) >= {group_name(role) for role in Role}
    administrator = {p.codename for p in groups["Administrator"].permissions.all()}
    auditor = {p.codename for p in groups["Auditor"].permissions.all()}
    assert {"add_location", "change_membership", "view_accesslog"} <= administrator
    assert all(codename.startswith("view_") for codename in auditor)
    # Operators' business is never granted through a role.
    assert "add_company" not in administrator
    assert not {"add_group", "change_permission"} & administrator


@pytest.mark.django_db
def test_sync_roles_restores_a_tampered_group(capsys):
    auditor = Group.objects.get(name="Auditor")
    expected = set(auditor.permissions.values_list("pk", flat=True))
    auditor.permissions.clear()
    call_command("sync_roles")
    assert set(auditor.permissions.values_list("pk", flat=True)) == expected
    assert "Synced 6 roles." in capsys.readouterr().out


def test_roles_sync_after_the_last_app_with_models(monkeypatch):
    """In the project's own settings the last app (cockpit) has no models and so gets
    no post_migrate signal: the sync must follow the last app that does."""
    from django.apps import apps

    from accounts import roles

    # INSTALLED_APPS as config.settings has them: the tests' own app left out.
    configs = [config for config in apps.get_app_configs() if config.label != "testapp"]
    assert configs[-1].models_module is None  # cockpit: the case that went wrong
    monkeypatch.setattr(apps, "get_app_configs", lambda: configs)
    synced = []
    monkeypatch.setattr(roles, "sync_roles", lambda using="default": synced.append(using))
    for config in configs:
        if config.models_module:  # the apps Django sends post_migrate for
            roles.sync_roles_after_migrate(config, using="default")
    assert synced == ["default"]
