"""Fixtures every test may use: personas per role, an outsider, API clients."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import COMPANY_CLAIM
from accounts.choices import Role
from core import rls
from core.caching import expire_all
from tests.factories import CompanyFactory, LocationFactory, member

# Row-level security (DATABASE_APP_ROLE set, PostgreSQL): a test's own data setup and
# assertions act as the operator (the owner, who bypasses RLS), as factories write rows
# of several companies; the code under test (requests, API calls, services acting for a
# user, tasks with a company) runs as the app role in its own scope (docs/security/rls.md).
rls.use_operator_by_default()


@pytest.fixture(autouse=True)
def _isolated_cache():
    # Throttle counters and health keys live in the cache: start every test from zero.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _cold_access_cache_when_counting(request, monkeypatch):
    """Query-count assertions measure the uncached path of a request (the worst case):
    each counted block starts with every core.caching entry (access, reference data)
    expired. Tests marked ``warm_cache`` (tests/core/test_caching.py) measure the
    cached path."""
    if request.node.get_closest_marker("warm_cache"):
        return
    enter = CaptureQueriesContext.__enter__

    def cold_enter(self):
        expire_all()
        return enter(self)

    monkeypatch.setattr(CaptureQueriesContext, "__enter__", cold_enter)


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def company(db):
    return CompanyFactory(name="Company A")


@pytest.fixture
def other_company(db):
    return CompanyFactory(name="Company B")


@pytest.fixture
def location(company):
    return LocationFactory(company=company, name="A Main")


@pytest.fixture
def personas(company):
    """One user per role in company A, keyed by role value."""
    return {role.value: member(company, role, email=f"{role.value}@a.test") for role in Role}


@pytest.fixture
def admin_user(personas):
    return personas[Role.ADMINISTRATOR]


@pytest.fixture
def outsider(other_company):
    """An administrator of company B: sees nothing of company A."""
    return member(other_company, Role.ADMINISTRATOR, email="admin@b.test")


def jwt_for(user, company=None):
    refresh = RefreshToken.for_user(user)
    if company is not None:
        refresh[COMPANY_CLAIM] = str(company.pk)
    return str(refresh.access_token)


@pytest.fixture
def api_client_for():
    """``api_client_for(user)``: an APIClient sending that user's JWT."""

    def make(user, company=None):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(user, company)}")
        return client

    return make


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def documents_storage(settings, tmp_path):
    """The documents storage and the fax inbox under the test's temporary folder; the
    storage's folder (every documents test, and any test that stores a document)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    settings.FAX_INBOX_DIR = tmp_path / "fax-inbox"
    return tmp_path / "documents"
