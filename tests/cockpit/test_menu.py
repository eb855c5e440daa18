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


# Kept per process (cockpit.site.menu_key) ------------------------------------------------


@pytest.fixture
def built(monkeypatch):
    """How many times the menu was built from the registered admins."""
    from cockpit import site
    from cockpit.templatetags import cockpit_menu

    site._menus.clear()
    cockpit_menu._sidebars.clear()
    calls = []
    build = CockpitAdminSite._build_app_dict

    def counting(self, request, label=None):
        calls.append(request.user.email)
        return build(self, request, label)

    monkeypatch.setattr(CockpitAdminSite, "_build_app_dict", counting)
    return calls


def sidebar(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="nav-sidebar"')
    return html[start : html.index("</nav>", start)]


def test_it_builds_the_menu_once_for_users_with_the_same_rights(client, personas, built, company):
    from tests.factories import member

    first, second = personas[Role.BILLING], member(company, Role.BILLING, email="b2@a.test")
    menu(client, first)
    menu(client, first)
    assert menu(client, second) == menu(client, first)
    assert built == [first.email]
    menu(client, personas[Role.WAREHOUSE])  # other rights, another menu
    assert built == [first.email, personas[Role.WAREHOUSE].email]


def test_a_permission_taken_from_a_role_leaves_its_menu_at_once(client, personas, built):
    from django.contrib.auth.models import Group, Permission

    from accounts.roles import group_name

    user = personas[Role.WAREHOUSE]
    assert "dme.stocklevel" in menu(client, user)["Inventory"]
    Group.objects.get(name=group_name(Role.WAREHOUSE)).permissions.remove(
        *Permission.objects.filter(codename__endswith="_stocklevel")
    )
    assert "dme.stocklevel" not in menu(client, user).get("Inventory", [])


def test_the_side_bar_marks_the_page_it_is_on(client, personas, built):
    client.force_login(personas[Role.ADMINISTRATOR])
    on_patients = sidebar(client, reverse("admin:clinical_patient_changelist"))
    on_orders = sidebar(client, reverse("admin:dme_order_changelist"))
    assert 'class="model-patient current-model"' in on_patients
    assert 'class="model-order current-model"' not in on_patients
    assert 'class="model-order current-model"' in on_orders
    assert 'class="model-patient current-model"' not in on_orders
    # Drawn once per menu and page, the same HTML the next time.
    assert sidebar(client, reverse("admin:clinical_patient_changelist")) == on_patients
    assert len(built) == 1


def test_the_sign_in_page_looks_up_no_membership(client, django_assert_num_queries):
    """A visitor's menu key is its flags: no membership lookup, which row-level security
    would refuse (no user to scope it by: the sign-in page failed so on PostgreSQL)."""
    from django.contrib.auth.models import AnonymousUser

    from cockpit.site import menu_key

    request = RequestFactory().get(reverse("admin:login"))
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        key = menu_key(request)
    assert key[2:4] == (None, None)
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
