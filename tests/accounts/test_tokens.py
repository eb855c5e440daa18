"""JWT sign-in throttle, refresh rotation, logout, and tokens of deactivated accounts."""

import pytest
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.choices import Role
from accounts.models import Membership
from tests.factories import TEST_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"


@pytest.fixture
def rates(settings):
    """Set the sign-in rates for one test (DRF copies them onto the class at import)."""
    original = SimpleRateThrottle.THROTTLE_RATES

    def apply(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                **rates,
            },
        }
        SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    yield apply
    SimpleRateThrottle.THROTTLE_RATES = original


def sign_in(client, email, password=TEST_PASSWORD, **extra):
    return client.post(TOKEN_URL, {"email": email, "password": password}, **extra)


@pytest.mark.django_db
def test_the_account_bucket_does_not_throttle_a_colleague_on_the_same_address(
    anon_client, personas, rates, settings
):
    settings.LOCKOUT_FAILURES = 100  # the throttle alone, not the lockout
    rates(auth="3/minute", auth_address="10/minute")
    attacker_target, colleague = personas[Role.ADMINISTRATOR], personas[Role.BILLING]
    codes = [sign_in(anon_client, attacker_target.email, "bad").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Another account from the same address still has its own bucket ...
    assert sign_in(anon_client, colleague.email).status_code == 200
    # ... until the address bucket, shared by every account, is used up too.
    codes = [sign_in(anon_client, colleague.email).status_code for _ in range(6)]
    assert codes[-1] == 429


@pytest.mark.django_db
def test_the_account_bucket_ignores_the_case_of_the_email(anon_client, admin_user, rates, settings):
    settings.LOCKOUT_FAILURES = 100
    rates(auth="2/minute")
    sign_in(anon_client, admin_user.email, "bad")
    sign_in(anon_client, admin_user.email.upper(), "bad")
    assert sign_in(anon_client, f"  {admin_user.email.title()} ", "bad").status_code == 429


@pytest.mark.django_db
@pytest.mark.parametrize("num_proxies", [0, 1])
def test_rotating_x_forwarded_for_does_not_reset_the_throttle(
    anon_client, admin_user, rates, settings, num_proxies
):
    settings.LOCKOUT_FAILURES = 100
    settings.NUM_PROXIES = num_proxies
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    rates(auth="1000/minute", auth_address="3/minute")
    codes = [
        sign_in(
            anon_client, f"x{i}@a.test", "bad", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 192.0.2.1"
        ).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]


@pytest.mark.django_db
def test_the_cache_key_holds_no_email(anon_client, admin_user, rates, settings):
    from django.core.cache import cache

    settings.LOCKOUT_FAILURES = 100
    rates(auth="5/minute")
    sign_in(anon_client, admin_user.email, "bad")
    keys = list(cache._cache.keys()) if hasattr(cache, "_cache") else cache.keys("*")
    assert keys
    assert not any(admin_user.email in str(key) for key in keys)


@pytest.mark.django_db
def test_a_used_refresh_token_is_refused(anon_client, admin_user):
    tokens = sign_in(anon_client, admin_user.email).json()
    first = anon_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})
    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]

    reused = anon_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_not_valid"
    # The rotated one works, once.
    assert anon_client.post(REFRESH_URL, {"refresh": first.json()["refresh"]}).status_code == 200


@pytest.mark.django_db
def test_logout_revokes_the_refresh_token(anon_client, admin_user):
    tokens = sign_in(anon_client, admin_user.email).json()
    response = anon_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]})
    assert response.status_code == 204
    refused = anon_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})
    assert refused.status_code == 401
    # Twice, or garbage: a 401 in the error shape, never a 500.
    again = anon_client.post(LOGOUT_URL, {"refresh": tokens["refresh"]})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "token_not_valid"
    assert anon_client.post(LOGOUT_URL, {"refresh": "garbage"}).status_code == 401
    assert anon_client.post(LOGOUT_URL, {}).status_code == 400


@pytest.mark.django_db
def test_tokens_of_a_deactivated_user_stop_working(anon_client, admin_user):
    tokens = sign_in(anon_client, admin_user.email).json()
    admin_user.is_active = False
    admin_user.save()
    assert anon_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}).status_code == 401
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert anon_client.get("/api/v1/me/").status_code == 401


@pytest.mark.django_db
def test_tokens_of_a_deactivated_membership_stop_working(anon_client, personas, company):
    user = personas[Role.BILLING]
    tokens = sign_in(anon_client, user.email).json()
    # Saved, not a queryset update(): saving is what invalidates the cached access
    # (accounts.access_cache); a bulk update() must call invalidate_user() itself.
    membership = Membership.objects.get(user=user, company=company)
    membership.is_active = False
    membership.save()

    refused = anon_client.post(REFRESH_URL, {"refresh": tokens["refresh"]})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "no_active_account"
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = anon_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "membership_inactive"
