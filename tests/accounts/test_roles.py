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
    """post_migrate comes only for apps with models: the sync must follow the last app
    that has some, whether or not that is the last of INSTALLED_APPS. (The cockpit, last,
    once had none, and waiting for it left every role without permissions; it now holds
    the dashboard snapshot.)"""
    from types import SimpleNamespace

    from django.apps import apps

    from accounts import roles

    # INSTALLED_APPS as config.settings has them: the tests' own app left out.
    configs = [config for config in apps.get_app_configs() if config.label != "testapp"]
    assert configs[-1].label == "cockpit"
    assert configs[-1].models_module is not None
    without_models = SimpleNamespace(label="nomodels", models_module=None)
    for installed in (configs, [*configs, without_models]):
        monkeypatch.setattr(apps, "get_app_configs", lambda installed=installed: installed)
        synced: list[str] = []
        monkeypatch.setattr(roles, "sync_roles", lambda using="default", s=synced: s.append(using))
        for config in installed:
            if config.models_module:  # the apps Django sends post_migrate for
                roles.sync_roles_after_migrate(config, using="default")
        assert synced == ["default"]


@pytest.mark.django_db
def test_the_roles_that_see_the_key_figures_may_view_the_snapshot():
    """The dashboard snapshot's view permission goes with the roles whose dashboards
    read it company-wide (VIEW_ALL: administrator, auditor), and to no clerk's role."""
    viewers = set(
        Group.objects.filter(permissions__codename="view_dashboardsnapshot").values_list(
            "name", flat=True
        )
    )
    assert viewers == {"Administrator", "Auditor"}
    changers = Group.objects.filter(permissions__codename="change_dashboardsnapshot")
    assert not changers.exists()
