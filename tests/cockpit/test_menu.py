"""The admin menu grouped by the work: each role sees its groups, operators' tables
only for operators, models of apps the menu does not name still listed."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.choices import Role
from cockpit.menu import MENU, group_of
from cockpit.site import CockpitAdminSite, grouped_app_list
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def menu(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        app["name"]: [m["model"]._meta.label_lower for m in app["models"]]
        for app in response.context["app_list"]
    }


def test_it_is_the_admin_site():
    assert isinstance(admin.site, CockpitAdminSite)


def test_it_groups_the_administrators_menu_by_the_work(client, personas):
    groups = menu(client, personas[Role.ADMINISTRATOR])
    assert list(groups)[:4] == ["Patients", "Orders & deliveries", "Billing", "Inventory"]
    assert groups["Patients"][:3] == ["clinical.patient", "hme.coverage", "hme.authorization"]
    assert groups["Orders & deliveries"] == ["dme.order", "dme.delivery", "dme.rental"]
    assert groups["Billing"][:2] == ["hme.claim", "hme.payment"]
    assert "dme.equipment" in groups["Inventory"]
    assert "accounts.membership" in groups["Administration"]


def test_it_shows_the_operators_tables_to_operators_only(client, personas):
    staff = menu(client, personas[Role.ADMINISTRATOR])
    assert "Operations (operators)" not in staff
    listed = {label for labels in staff.values() for label in labels}
    assert not {"core.backup", "django_celery_beat.periodictask"} & listed
    operator = UserFactory(is_superuser=True, is_staff=True)
    groups = menu(client, operator)
    assert "django_celery_beat.crontabschedule" in groups["Operations (operators)"]
    assert "core.backup" in groups["Operations (operators)"]


def test_each_role_sees_only_what_it_may(client, personas):
    warehouse = menu(client, personas[Role.WAREHOUSE])
    assert "dme.stocklevel" in warehouse["Inventory"]
    billing = menu(client, personas[Role.BILLING])
    assert "hme.claim" in billing["Billing"]
    assert "accounts.membership" not in billing.get("Administration", [])


def test_models_of_apps_it_does_not_name_fall_into_their_apps_group():
    # A new model of a known app goes to its app's group; a new app gets its own group.
    assert group_of("dme.purchaseorder").slug == "inventory"
    assert group_of("hme.edibatch").slug == "billing"
    assert group_of("documents.document").slug == "patients"
    assert group_of("newapp.thing") is None
    assert {g.slug for g in MENU} >= {"patients", "orders", "billing", "inventory"}


def test_an_unnamed_app_keeps_its_own_group(personas):
    class Fake:
        class _meta:
            label_lower = "newapp.thing"

    request = RequestFactory().get("/admin/")
    request.user = personas[Role.ADMINISTRATOR]
    apps = {
        "newapp": {
            "name": "New app",
            "app_label": "newapp",
            "app_url": "/admin/newapp/",
            "has_module_perms": True,
            "models": [{"model": Fake, "name": "Things"}],
        }
    }
    assert [(a["name"], len(a["models"])) for a in grouped_app_list(apps, request)] == [
        ("New app", 1)
    ]


def test_an_apps_own_page_stays_djangos(client, personas):
    client.force_login(personas[Role.ADMINISTRATOR])
    response = client.get(reverse("admin:app_list", args=["dme"]))
    assert response.status_code == 200
    assert [app["app_label"] for app in response.context["app_list"]] == ["dme"]
