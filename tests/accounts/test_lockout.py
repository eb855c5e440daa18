"""Lockout after repeated sign-in failures: admin and JWT, per account and per address."""

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core.choices import ComplianceKind
from core.models import ComplianceEvent
from tests.factories import TEST_PASSWORD, member

LOGIN_URL = "/admin/login/?next=/admin/"
TOKEN_URL = "/api/v1/auth/token/"
LOCKED = "Too many failed sign-ins"


def admin_login(client, email, password, **extra):
    return client.post(LOGIN_URL, {"username": email, "password": password}, **extra)


def jwt_login(client, email, password, **extra):
    return client.post(TOKEN_URL, {"email": email, "password": password}, **extra)


@pytest.mark.django_db
def test_it_keeps_the_admin_locked_after_30_wrong_passwords(client, admin_user):
    codes = [admin_login(client, admin_user.email, "wrong-password").status_code for _ in range(30)]
    assert codes[:4] == [200] * 4  # the form again, with "please enter a correct ..."
    assert set(codes[4:]) == {429}

    response = admin_login(client, admin_user.email, TEST_PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert SESSION_KEY not in client.session
    # One lockout in the compliance log for the account, not one per attempt.
    events = ComplianceEvent.objects.filter(kind=ComplianceKind.LOCKOUT)
    assert events.count() == 1
    assert events.get().target_id == str(admin_user.pk)


@pytest.mark.django_db
def test_it_counts_the_account_whatever_the_case_of_the_email(client, admin_user):
    for i in range(5):
        email = admin_user.email.upper() if i % 2 else admin_user.email
        admin_login(client, email, "wrong-password")
    assert admin_login(client, admin_user.email, TEST_PASSWORD).status_code == 429


@pytest.mark.django_db
def test_it_unlocks_after_the_cool_off(client, admin_user):
    for _ in range(5):
        admin_login(client, admin_user.email, "wrong-password")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        response = admin_login(client, admin_user.email, TEST_PASSWORD)
    assert response.status_code == 302
    assert SESSION_KEY in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("num_proxies", [0, 1])
def test_rotating_x_forwarded_for_does_not_reset_the_lockout(
    client, admin_user, settings, num_proxies
):
    settings.NUM_PROXIES = num_proxies
    for i in range(5):
        # The client writes anything in front; our proxy appends the real peer last.
        admin_login(
            client, admin_user.email, "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 192.0.2.1"
        )
    response = admin_login(
        client, admin_user.email, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99, 192.0.2.1"
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_the_jwt_sign_in_locks_out_in_the_error_shape(anon_client, admin_user):
    codes = [jwt_login(anon_client, admin_user.email, "wrong").status_code for _ in range(4)]
    assert codes == [401] * 4
    response = jwt_login(anon_client, admin_user.email, "wrong")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"
    response = jwt_login(anon_client, admin_user.email, TEST_PASSWORD)
    assert response.status_code == 429
    assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.django_db
def test_one_locked_account_does_not_lock_a_colleague_on_the_same_address(
    anon_client, admin_user, personas
):
    for _ in range(6):
        jwt_login(anon_client, admin_user.email, "wrong")
    colleague = personas[Role.BILLING]
    assert jwt_login(anon_client, colleague.email, TEST_PASSWORD).status_code == 200


@pytest.mark.django_db
def test_an_address_locks_after_its_own_limit_whatever_the_accounts(anon_client, company, settings):
    settings.LOCKOUT_ADDRESS_FAILURES = 6
    victim = member(company, Role.INTAKE, email="victim@a.test")
    for i in range(6):
        jwt_login(anon_client, f"guess{i}@a.test", "wrong", REMOTE_ADDR="203.0.113.5")
    assert (
        jwt_login(anon_client, victim.email, TEST_PASSWORD, REMOTE_ADDR="203.0.113.5").status_code
        == 429
    )
    # Another address is not locked.
    assert (
        jwt_login(anon_client, victim.email, TEST_PASSWORD, REMOTE_ADDR="203.0.113.6").status_code
        == 200
    )


def unlock_url(user):
    return reverse("admin:accounts_signinsecurity_unlock", args=[user.pk])


@pytest.mark.django_db
def test_the_company_administrator_unlocks_a_colleague(client, anon_client, admin_user, personas):
    colleague = personas[Role.CLINICIAN]
    for _ in range(5):
        jwt_login(anon_client, colleague.email, "wrong")
    assert jwt_login(anon_client, colleague.email, TEST_PASSWORD).status_code == 429

    client.force_login(admin_user)
    page = client.get(reverse("admin:accounts_signinsecurity_changelist"))
    assert page.status_code == 200
    assert colleague.email in page.content.decode()
    response = client.post(unlock_url(colleague))
    assert response.status_code == 302

    assert jwt_login(anon_client, colleague.email, TEST_PASSWORD).status_code == 200
    cleared = ComplianceEvent.objects.get(kind=ComplianceKind.LOCKOUT_CLEARED)
    assert cleared.actor == admin_user
    assert cleared.target_id == str(colleague.pk)


@pytest.mark.django_db
def test_another_company_cannot_unlock_or_see_the_account(client, admin_user, outsider):
    client.force_login(outsider)
    assert client.post(unlock_url(admin_user)).status_code == 404
    page = reverse("admin:accounts_signinsecurity_change", args=[admin_user.pk])
    assert client.get(page).status_code == 404
    listing = client.get(reverse("admin:accounts_signinsecurity_changelist"))
    assert admin_user.email not in listing.content.decode()
    assert not ComplianceEvent.objects.filter(kind=ComplianceKind.LOCKOUT_CLEARED).exists()


@pytest.mark.django_db
def test_only_administrators_manage_sign_in_security(client, personas, admin_user):
    client.force_login(personas[Role.BILLING])
    assert client.post(unlock_url(admin_user)).status_code == 404
    listing = client.get(reverse("admin:accounts_signinsecurity_changelist"))
    assert listing.status_code == 403


@pytest.mark.django_db
def test_operators_unlock_an_address(client, anon_client, company, settings):
    from tests.factories import UserFactory

    settings.LOCKOUT_ADDRESS_FAILURES = 3
    for i in range(3):
        jwt_login(anon_client, f"guess{i}@a.test", "wrong", REMOTE_ADDR="203.0.113.5")
    victim = member(company, Role.INTAKE, email="victim@a.test")
    assert (
        jwt_login(anon_client, victim.email, TEST_PASSWORD, REMOTE_ADDR="203.0.113.5").status_code
        == 429
    )

    client.force_login(UserFactory(is_superuser=True))
    url = reverse("admin:accounts_signinsecurity_addresses")
    assert "203.0.113.5" in client.get(url).content.decode()
    assert client.post(url, {"ip_address": "198.51.100.1"}).status_code == 404
    assert client.post(url, {"ip_address": "203.0.113.5"}).status_code == 302
    assert (
        jwt_login(anon_client, victim.email, TEST_PASSWORD, REMOTE_ADDR="203.0.113.5").status_code
        == 200
    )


@pytest.mark.django_db
def test_company_administrators_do_not_get_the_address_page(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:accounts_signinsecurity_addresses")).status_code == 404
