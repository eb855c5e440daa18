"""The generic admin test base: a ModelAdmin's test declares its data, inherits the rest.

    class TestPatientAdmin(TenantAdminTests):
        model = Patient
        factory = PatientFactory

Every subclass gets, for the model's admin: the changelist (200, only the company's
rows) for every role that may view it and 403 for every other role; the change page
(200, editable only for the roles that may change); the add page (200 for the roles
that may add, 403 for the others); another company's record a 404 on the change page;
and a changelist query count that does not grow from 1 to 20 rows.

Which roles may view, change and add comes from the role table
(``accounts.roles.ROLE_PERMISSIONS``: the admin must honour it); a ModelAdmin that
narrows it (no add page, read-only) declares its own ``add_roles`` / ``change_roles``.
"""

from fnmatch import fnmatchcase

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.roles import OPERATOR_ONLY, ROLE_PERMISSIONS


def roles_holding(*permissions):
    """The roles whose permissions (in the role table) include any of ``permissions``
    (``app_label.codename``)."""
    return tuple(
        role
        for role in Role
        if any(
            fnmatchcase(name, pattern)
            for name in permissions
            if not any(fnmatchcase(name, operator) for operator in OPERATOR_ONLY)
            for pattern in ROLE_PERMISSIONS[role]
        )
    )


class TenantAdminTests:
    model = None  # the registered model; urls admin:<app>_<model>_<page>
    factory = None  # factory_boy factory taking company=
    view_roles = None  # None: from the role table (view or change permission)
    change_roles = None  # None: from the role table
    add_roles = None  # None: from the role table; () when the admin offers no add page
    query_role = Role.ADMINISTRATOR  # who loads the changelist for the query count
    rows_for_query_check = 20

    # -- what a subclass may declare ---------------------------------------------------
    def make(self, company, **fields):
        """A saved row of ``company``."""
        return self.factory(company=company, **fields)

    # -- helpers ---------------------------------------------------------------------
    def url(self, page, *args):
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args)

    def permission(self, action):
        opts = self.model._meta
        return f"{opts.app_label}.{action}_{opts.model_name}"

    def roles(self, kind):
        declared = getattr(self, f"{kind}_roles")
        if declared is not None:
            return tuple(declared)
        if kind == "view":
            return roles_holding(self.permission("view"), self.permission("change"))
        return roles_holding(self.permission(kind))

    @pytest.fixture
    def login(self, client, personas):
        def as_role(role):
            client.force_login(personas[role])
            return client

        return as_role

    # -- the tests -------------------------------------------------------------------
    def test_it_lists_only_its_company_for_each_viewing_role(self, company, other_company, login):
        mine = self.make(company)
        self.make(other_company)
        assert self.roles("view"), "no role may view this admin"
        for role in self.roles("view"):
            response = login(role).get(self.url("changelist"))
            assert response.status_code == 200, role
            assert [row.pk for row in response.context["cl"].result_list] == [mine.pk], role

    def test_it_refuses_the_changelist_to_the_other_roles(self, company, login):
        self.make(company)
        for role in set(Role) - set(self.roles("view")):
            assert login(role).get(self.url("changelist")).status_code == 403, role

    def test_it_shows_the_change_page_editable_for_the_changing_roles(self, company, login):
        obj = self.make(company)
        for role in self.roles("view"):
            response = login(role).get(self.url("change", obj.pk))
            assert response.status_code == 200, role
            may_change = role in self.roles("change")
            assert response.context["has_change_permission"] is may_change, role

    def test_it_shows_the_add_page_to_the_adding_roles_only(self, company, login):
        for role in Role:
            expected = 200 if role in self.roles("add") else 403
            assert login(role).get(self.url("add")).status_code == expected, role

    def test_it_hides_other_companies_records(self, company, outsider, client):
        obj = self.make(company)
        client.force_login(outsider)
        assert client.get(self.url("change", obj.pk)).status_code == 404

    def test_its_changelist_query_count_is_constant(self, company, login):
        client = login(self.query_role)
        self.make(company)
        with CaptureQueriesContext(connection) as one_row:
            assert client.get(self.url("changelist")).status_code == 200
        for _ in range(self.rows_for_query_check - 1):
            self.make(company)
        with CaptureQueriesContext(connection) as many_rows:
            response = client.get(self.url("changelist"))
        assert len(response.context["cl"].result_list) == self.rows_for_query_check
        assert len(many_rows) == len(one_row), [q["sql"] for q in many_rows.captured_queries]
