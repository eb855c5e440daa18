"""HIPAA automatic logoff, and listing and ending one's sessions and tokens."""

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.sessions import UserSession
from core.choices import ComplianceKind
from core.models import ComplianceEvent
from tests.factories import TEST_PASSWORD

SESSIONS_URL = "/api/v1/auth/sessions/"
TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"


def later(**delta):
    return time_machine.travel(timezone.now() + datetime.timedelta(**delta), tick=False)


@pytest.mark.django_db
def test_an_idle_session_ends_after_the_limit_and_says_why(client, admin_user):
    client.force_login(admin_user)
    with later(minutes=10):
        assert client.get("/admin/").status_code == 200
    with later(minutes=24):  # 14 idle minutes since the last request: still in
        assert client.get("/admin/").status_code == 200
    with later(minutes=40):  # 16 idle minutes
        response = client.get("/admin/", follow=True)
    assert SESSION_KEY not in client.session
    assert response.redirect_chain[0][0].startswith("/admin/login/")
    assert "without activity (automatic logoff)" in response.content.decode()


@pytest.mark.django_db
def test_an_active_session_still_ends_at_the_absolute_cap(client, admin_user, settings):
    settings.SESSION_IDLE_MINUTES = 15
    settings.SESSION_MAX_HOURS = 1
    client.force_login(admin_user)
    for minutes in (10, 20, 30, 40, 50):
        with later(minutes=minutes):
            assert client.get("/admin/").status_code == 200
    with later(minutes=61):
        response = client.get("/admin/", follow=True)
    assert SESSION_KEY not in client.session
    assert "a session lasts at most 1 hours" in response.content.decode()


@pytest.mark.django_db
def test_the_idle_limit_is_a_setting(client, admin_user, settings):
    settings.SESSION_IDLE_MINUTES = 60
    client.force_login(admin_user)
    with later(minutes=40):
        assert client.get("/admin/").status_code == 200


def sign_in_both_ways(user):
    """A browser session and an API token pair of ``user``."""
    browser = Client()
    browser.post("/admin/login/", {"username": user.email, "password": TEST_PASSWORD})
    api = APIClient()
    tokens = api.post(TOKEN_URL, {"email": user.email, "password": TEST_PASSWORD}).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return browser, api, tokens


@pytest.mark.django_db
def test_staff_list_their_sessions_and_tokens(admin_user, django_assert_max_num_queries):
    _, api, _ = sign_in_both_ways(admin_user)
    response = api.get(SESSIONS_URL)
    assert response.status_code == 200
    kinds = sorted(item["kind"] for item in response.json())
    assert kinds == ["browser", "token"]
    browser_row = next(item for item in response.json() if item["kind"] == "browser")
    assert browser_row["ip_address"] == "127.0.0.1"

    # The query count does not grow with the number of sessions.
    for _ in range(5):
        sign_in_both_ways(admin_user)
    with django_assert_max_num_queries(8):
        assert len(api.get(SESSIONS_URL).json()) == 12


@pytest.mark.django_db
def test_staff_end_their_own_browser_session_and_token(admin_user):
    browser, api, tokens = sign_in_both_ways(admin_user)
    assert browser.get("/admin/").status_code == 200
    items = {item["kind"]: item for item in api.get(SESSIONS_URL).json()}

    assert api.delete(f"{SESSIONS_URL}{items['browser']['id']}/").status_code == 204
    assert browser.get("/admin/").status_code == 302
    assert not UserSession.objects.filter(user=admin_user).exists()

    assert api.delete(f"{SESSIONS_URL}{items['token']['id']}/").status_code == 204
    assert APIClient().post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code == 401
    assert ComplianceEvent.objects.filter(kind=ComplianceKind.SESSION_REVOKED).count() == 2
    # Gone, or garbage: 404.
    assert api.delete(f"{SESSIONS_URL}{items['token']['id']}/").status_code == 404
    assert api.delete(f"{SESSIONS_URL}nonsense/").status_code == 404


@pytest.mark.django_db
def test_an_administrator_ends_a_colleague_s_session(admin_user, personas, api_client_for):
    colleague = personas[Role.WAREHOUSE]
    browser, _, _ = sign_in_both_ways(colleague)
    api = api_client_for(admin_user)
    listing = api.get(SESSIONS_URL, {"user": str(colleague.pk)})
    assert listing.status_code == 200
    session_id = next(item["id"] for item in listing.json() if item["kind"] == "browser")
    response = api.delete(f"{SESSIONS_URL}{session_id}/?user={colleague.pk}")
    assert response.status_code == 204
    assert browser.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_another_company_s_user_is_a_404(admin_user, outsider, api_client_for):
    sign_in_both_ways(admin_user)
    session_id = UserSession.objects.get(user=admin_user).pk
    api = api_client_for(outsider)
    assert api.get(SESSIONS_URL, {"user": str(admin_user.pk)}).status_code == 404
    response = api.delete(f"{SESSIONS_URL}browser-{session_id}/?user={admin_user.pk}")
    assert response.status_code == 404
    # Without ?user=, the id is looked up among the caller's own sessions only.
    assert api.delete(f"{SESSIONS_URL}browser-{session_id}/").status_code == 404
    assert UserSession.objects.filter(user=admin_user).exists()


@pytest.mark.django_db
def test_a_non_administrator_cannot_see_a_colleague_s_sessions(personas, api_client_for):
    api = api_client_for(personas[Role.BILLING])
    other = personas[Role.INTAKE]
    assert api.get(SESSIONS_URL, {"user": str(other.pk)}).status_code == 404
    assert api.get(SESSIONS_URL, {"user": "not-a-uuid"}).status_code == 404


@pytest.mark.django_db
def test_the_admin_page_lists_and_ends_sessions(client, admin_user, personas):
    colleague = personas[Role.CLINICIAN]
    browser, _, _ = sign_in_both_ways(colleague)
    client.force_login(admin_user)
    page = client.get(reverse("admin:accounts_signinsecurity_change", args=[colleague.pk]))
    assert page.status_code == 200
    assert len(page.context["sessions"]) == 2
    url = reverse("admin:accounts_signinsecurity_end-session", args=[colleague.pk])
    assert client.post(url, {"session": "all"}).status_code == 302
    assert browser.get("/admin/").status_code == 302
    # The administrator's own session goes on.
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_admin_page_of_another_company_s_user_is_a_404(client, admin_user, outsider):
    client.force_login(outsider)
    url = reverse("admin:accounts_signinsecurity_end-session", args=[admin_user.pk])
    assert client.post(url, {"session": "all"}).status_code == 404
