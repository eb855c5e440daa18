"""MFA (django-otp): enrolment forced for the required roles, the code at each sign-in,
recovery codes once, the API's ``otp`` field, and resets by the company's Administrator.

The rest of the suite runs with ``MFA_ENFORCE`` off (tests/settings.py): here it is on.
"""

import datetime

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import Role
from accounts.security import mfa
from core.choices import ComplianceKind
from core.models import ComplianceEvent
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enforced")]

ENROL_URL = "/accounts/mfa/enrol/"
VERIFY_URL = "/accounts/mfa/verify/"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def enforced():
    with override_settings(MFA_ENFORCE=True):
        yield


def code_of(device):
    return TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()


def code_str(device):
    return f"{code_of(device):0{device.digits}d}"


def enrolled(user):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    codes = mfa.replace_recovery_codes(user)
    return device, codes


def admin_sign_in(client, user):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    return response


def later(seconds):
    return time_machine.travel(timezone.now() + datetime.timedelta(seconds=seconds), tick=False)


def test_a_required_role_without_a_device_is_sent_to_enrol(client, admin_user):
    admin_sign_in(client, admin_user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{ENROL_URL}?next=")
    # Every staff page, not only the index.
    assert client.get("/admin/accounts/location/")["Location"].startswith(ENROL_URL)


def test_enrolment_confirms_the_app_and_shows_recovery_codes_once(client, admin_user, company):
    admin_sign_in(client, admin_user)
    page = client.get(ENROL_URL)
    assert page.status_code == 200
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)

    wrong = client.post(ENROL_URL, {"code": "000000" if code_of(device) else "111111"})
    assert "That code is not right" in wrong.content.decode()

    # django-otp slows down a device after a wrong code: the right one comes later.
    with later(5):
        response = client.post(ENROL_URL, {"code": code_str(device), "next": "/admin/"})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200
    event = ComplianceEvent.objects.get(kind=ComplianceKind.MFA_ENROLLED)
    assert (event.company_id, event.target_id) == (company.pk, str(admin_user.pk))
    # The codes are not shown again: the enrolment page now sends elsewhere.
    assert client.get(ENROL_URL).status_code == 302


def test_with_a_device_the_admin_asks_for_the_code(client, personas):
    user = personas[Role.INTAKE]  # optional for this role, but enrolled: always asked
    device, _ = enrolled(user)
    admin_sign_in(client, user)
    response = client.get("/admin/")
    assert response["Location"].startswith(f"{VERIFY_URL}?next=")

    wrong = client.post(VERIFY_URL, {"code": "12345", "next": "/admin/"})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    with later(5):
        right = client.post(VERIFY_URL, {"code": code_str(device), "next": "/admin/"})
    assert right.status_code == 302
    assert right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_recovery_code_works_once(client, admin_user):
    _, codes = enrolled(admin_user)
    admin_sign_in(client, admin_user)
    assert client.post(VERIFY_URL, {"code": codes[0].upper()}).status_code == 302
    assert client.get("/admin/").status_code == 200
    assert not StaticToken.objects.filter(token=codes[0]).exists()

    client.post("/admin/logout/")
    admin_sign_in(client, admin_user)
    again = client.post(VERIFY_URL, {"code": codes[0]})
    assert again.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_an_optional_role_without_a_device_goes_on(client, personas):
    user = personas[Role.INTAKE]
    admin_sign_in(client, user)
    assert client.get("/admin/").status_code == 200


def test_operators_must_enrol(client, db):
    operator = UserFactory(is_superuser=True)
    admin_sign_in(client, operator)
    assert client.get("/admin/")["Location"].startswith(ENROL_URL)


@override_settings(MFA_REQUIRED_ROLES=["auditor"])
def test_the_required_roles_are_a_setting(client, admin_user):
    admin_sign_in(client, admin_user)
    assert client.get("/admin/").status_code == 200


def test_a_session_api_call_owes_the_second_factor_too(client, admin_user):
    enrolled(admin_user)
    admin_sign_in(client, admin_user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_required"


def test_the_jwt_sign_in_needs_the_otp_field_with_a_device(anon_client, admin_user):
    device, codes = enrolled(admin_user)
    credentials = {"email": admin_user.email, "password": TEST_PASSWORD}
    missing = anon_client.post(TOKEN_URL, credentials)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "otp_required"
    wrong = anon_client.post(TOKEN_URL, {**credentials, "otp": "000001"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "otp_invalid"
    with later(60):
        assert (
            anon_client.post(TOKEN_URL, {**credentials, "otp": code_str(device)}).status_code == 200
        )
    with later(120):
        assert anon_client.post(TOKEN_URL, {**credentials, "otp": codes[1]}).status_code == 200
    with later(180):
        assert anon_client.post(TOKEN_URL, {**credentials, "otp": codes[1]}).status_code == 401


def test_the_jwt_sign_in_refuses_a_required_role_without_a_device(
    anon_client, admin_user, personas
):
    credentials = {"email": admin_user.email, "password": TEST_PASSWORD}
    response = anon_client.post(TOKEN_URL, credentials)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_enrolment_required"
    # An optional role signs in with the password alone.
    intake = {"email": personas[Role.INTAKE].email, "password": TEST_PASSWORD}
    assert anon_client.post(TOKEN_URL, intake).status_code == 200


def reset_url(user):
    return reverse("admin:accounts_signinsecurity_reset-mfa", args=[user.pk])


def verified_admin(client, user):
    device, _ = enrolled(user)
    admin_sign_in(client, user)
    client.post(VERIFY_URL, {"code": code_str(device)})
    assert client.get("/admin/").status_code == 200


def test_the_administrator_resets_a_colleague_s_mfa(client, admin_user, personas, company):
    colleague = personas[Role.BILLING]
    enrolled(colleague)
    verified_admin(client, admin_user)
    response = client.post(reset_url(colleague))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    event = ComplianceEvent.objects.get(kind=ComplianceKind.MFA_RESET)
    assert (event.actor, event.target_id) == (admin_user, str(colleague.pk))
    assert event.company_id == company.pk


def test_another_company_cannot_reset_mfa(client, admin_user, outsider):
    enrolled(admin_user)
    verified_admin(client, outsider)
    assert client.post(reset_url(admin_user)).status_code == 404
    assert TOTPDevice.objects.filter(user=admin_user).exists()
    assert not ComplianceEvent.objects.filter(kind=ComplianceKind.MFA_RESET).exists()


def test_mfa_enforce_0_is_ignored_with_debug_off():
    from tests.core.test_settings import manage, production_env

    script = "from django.conf import settings; print(settings.MFA_ENFORCE)"
    result = manage("shell", "-c", script, env=production_env(MFA_ENFORCE="0"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
