"""core's tenancy hook (``core.tenancy``): accounts registers the active-membership
resolver at start-up; core and every app ask through it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured

from accounts import tenancy as accounts_tenancy
from accounts.choices import Role
from core import tenancy
from tests.factories import member


@pytest.mark.django_db
def test_accounts_registered_its_resolver(company, other_company):
    user = member(company, Role.INTAKE)
    assert tenancy.get_active_membership(user).company == company
    assert tenancy.get_active_company(user) == company
    accounts_tenancy.request_company(user, other_company.pk)  # not a member there
    assert tenancy.get_active_company(user) is None


def test_anonymous_and_missing_users_have_no_company():
    assert tenancy.get_active_company(AnonymousUser()) is None
    assert tenancy.get_active_company(None) is None


def test_without_a_resolver_it_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(tenancy, "_resolver", None)
    with pytest.raises(ImproperlyConfigured, match="accounts app"):
        tenancy.get_active_membership(object())
