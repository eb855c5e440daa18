"""JWT sign-in, refresh and /api/v1/me/."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Membership
from tests.factories import TEST_PASSWORD, member

TOKEN_URL = "/api/v1/auth/token/"


@pytest.mark.django_db
def test_it_issues_a_token_pair_that_works(anon_client, admin_user):
    response = anon_client.post(
        TOKEN_URL, {"email": admin_user.email.upper(), "password": TEST_PASSWORD}
    )
    assert response.status_code == 200, response.content
    tokens = response.json()
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert anon_client.get("/api/v1/me/").json()["email"] == admin_user.email

    refreshed = anon_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    assert "access" in refreshed.json()


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["wrong_password", "inactive_user", "unknown_email"])
def test_it_answers_401_in_the_error_shape(anon_client, admin_user, case):
    email, password = admin_user.email, TEST_PASSWORD
    if case == "wrong_password":
        password = "not-the-password"
    elif case == "inactive_user":
        admin_user.is_active = False
        admin_user.save()
    else:
        email = "nobody@example.test"
    response = anon_client.post(TOKEN_URL, {"email": email, "password": password})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "no_active_account"
    assert error["message"] == "No active account found with the given credentials"


@pytest.mark.django_db
def test_it_refuses_a_garbled_token(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = anon_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


@pytest.mark.django_db
def test_it_signs_in_for_a_chosen_company(anon_client, company, other_company):
    user = member(company, Role.BILLING)
    Membership.objects.create(user=user, company=other_company, role=Role.AUDITOR)
    response = anon_client.post(
        TOKEN_URL,
        {"email": user.email, "password": TEST_PASSWORD, "company": str(other_company.pk)},
    )
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    me = anon_client.get("/api/v1/me/").json()
    assert me["active_company"] == str(other_company.pk)
    assert me["role"] == Role.AUDITOR
    assert len(me["memberships"]) == 2
    assert "accounts.view_location" in me["permissions"]
    assert "accounts.add_location" not in me["permissions"]


@pytest.mark.django_db
def test_it_refuses_a_company_the_user_is_not_a_member_of(anon_client, admin_user, other_company):
    response = anon_client.post(
        TOKEN_URL,
        {"email": admin_user.email, "password": TEST_PASSWORD, "company": str(other_company.pk)},
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["company"] == [
        "You are not an active member of this company."
    ]


@pytest.mark.django_db
def test_me_requires_a_token(anon_client):
    response = anon_client.get(reverse("api:me"))
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "fields": {},
        }
    }


@pytest.mark.django_db
def test_it_limits_sign_in_attempts(anon_client, admin_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "3/minute",
        },
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    # DRF copies the rates onto the class at import time.
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        codes = [
            anon_client.post(TOKEN_URL, {"email": admin_user.email, "password": "bad"}).status_code
            for _ in range(4)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert codes == [401, 401, 401, 429]
