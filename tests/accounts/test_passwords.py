"""Passwords change only by their owner, a reset link or an operator; each change audited."""

import re

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import RequestFactory, override_settings
from django.urls import reverse

from accounts import services
from accounts.choices import Role
from accounts.models import User
from accounts.validators import PUBLISHED_PASSWORDS
from core.choices import ComplianceKind
from core.exceptions import ServiceError
from core.models import AuditEntry as LogEntry
from core.models import ComplianceEvent
from tests.factories import TEST_PASSWORD, member

NEW_PASSWORD = "a-brand-new-passphrase"
ME_PASSWORD = "/api/v1/me/password/"
RESET = "/api/v1/auth/password-reset/"
RESET_CONFIRM = "/api/v1/auth/password-reset/confirm/"


def link_parts(message):
    match = re.search(r"/accounts/password-reset/([^/]+)/([^/]+)/", message.body)
    return match.group(0), match.group(1), match.group(2)


@pytest.mark.django_db
def test_a_user_changes_their_own_password(api_client_for, personas):
    user = personas[Role.INTAKE]
    client = api_client_for(user)
    response = client.post(
        ME_PASSWORD, {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    event = ComplianceEvent.objects.get(kind=ComplianceKind.PASSWORD_CHANGED)
    assert event.actor == user
    assert event.detail == {"by": "self"}
    entry = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_pk=str(user.pk)
    ).latest("timestamp")
    assert entry.actor == user
    assert entry.changes_dict == {"password": ["[password]", "[password]"]}


@pytest.mark.django_db
def test_it_needs_the_current_password_and_a_long_one(api_client_for, personas):
    user = personas[Role.INTAKE]
    client = api_client_for(user)
    response = client.post(ME_PASSWORD, {"old_password": "wrong", "new_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "old_password" in response.json()["error"]["fields"]
    response = client.post(
        ME_PASSWORD, {"old_password": TEST_PASSWORD, "new_password": "short-11ch"}
    )
    assert response.status_code == 400
    messages = response.json()["error"]["fields"]["new_password"]
    assert any("at least 12 characters" in message for message in messages)
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert not ComplianceEvent.objects.exists()


@pytest.mark.django_db
def test_it_needs_a_signed_in_user(anon_client):
    response = anon_client.post(ME_PASSWORD, {"old_password": "x", "new_password": "y"})
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_reset_by_api_sets_a_new_password(anon_client, personas, mailoutbox):
    user = personas[Role.BILLING]
    response = anon_client.post(RESET, {"email": user.email.upper()})
    assert response.status_code == 202
    unknown = anon_client.post(RESET, {"email": "nobody@nowhere.test"})
    assert unknown.json() == response.json()  # no hint whether the account exists
    assert [message.to for message in mailoutbox] == [[user.email]]

    _, uid, token = link_parts(mailoutbox[0])
    response = anon_client.post(
        RESET_CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    event = ComplianceEvent.objects.get(kind=ComplianceKind.PASSWORD_RESET)
    assert event.actor == user
    assert event.detail == {"by": "reset"}
    # The link works once.
    again = anon_client.post(
        RESET_CONFIRM, {"uid": uid, "token": token, "new_password": "yet-another-passphrase"}
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_reset_link"


@pytest.mark.django_db
def test_a_malformed_reset_link_is_a_400(anon_client):
    for uid in ("!!", "bm90LWEtdXVpZA", ""):
        response = anon_client.post(
            RESET_CONFIRM, {"uid": uid or "x", "token": "x-y", "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 400


@pytest.mark.django_db
def test_the_forgotten_password_pages_set_a_password(client, personas, mailoutbox):
    user = personas[Role.AUDITOR]
    page = client.get(reverse("accounts:password-reset"))
    assert page.status_code == 200
    response = client.post(reverse("accounts:password-reset"), {"email": user.email})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password-reset-done")
    path, _, _ = link_parts(mailoutbox[0])
    set_page = client.get(path, follow=True)
    assert set_page.status_code == 200
    form_url = set_page.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password-reset-complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert ComplianceEvent.objects.filter(kind=ComplianceKind.PASSWORD_RESET).count() == 1


@pytest.mark.django_db
def test_an_invited_member_sets_their_first_password(
    api_client_for, admin_user, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(admin_user).post(
            reverse("api:user-list"), {"email": "invited@a.test", "role": Role.INTAKE}
        )
    assert response.status_code == 201, response.content
    path, _, _ = link_parts(mailoutbox[0])
    form_url = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert User.objects.get(email="invited@a.test").check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_the_demo_password_is_refused_when_debug_is_off(settings, personas):
    user = personas[Role.INTAKE]
    demo = next(iter(PUBLISHED_PASSWORDS))
    settings.DEBUG = False
    with pytest.raises(ValidationError, match="published with the demo"):
        validate_password(demo, user)
    with pytest.raises(ServiceError) as error:
        services.change_own_password(user, old_password=TEST_PASSWORD, new_password=demo)
    assert "new_password" in error.value.fields
    settings.DEBUG = True
    validate_password(demo, user)


def test_the_published_password_is_the_one_the_readme_commands_print():
    from pathlib import Path

    makefile = Path(__file__).resolve().parents[2].joinpath("Makefile").read_text()
    printed = re.search(r"password ([^\s\"]+)", makefile).group(1)
    assert printed in PUBLISHED_PASSWORDS


@pytest.mark.django_db
def test_the_admin_password_page_enforces_the_minimum_length(client, personas):
    operator = User.objects.create_superuser("ops@aries.test", TEST_PASSWORD)
    target = personas[Role.BILLING]
    client.force_login(operator)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[target.pk]),
        {"password1": "short-pass", "password2": "short-pass", "usable_password": "true"},
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.check_password(TEST_PASSWORD)


@pytest.mark.django_db
def test_the_admins_own_password_page_is_audited(client, personas):
    user = personas[Role.CLINICIAN]
    client.force_login(user)
    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    event = ComplianceEvent.objects.get(kind=ComplianceKind.PASSWORD_CHANGED)
    assert event.actor == user
    assert event.detail == {"by": "self"}


@pytest.mark.django_db
def test_the_published_demo_password_never_signs_in_with_debug_off(company):
    user = member(company, Role.INTAKE, email="old-demo@a.test")
    user.set_password("aries-demo-2026")
    user.save()
    request = RequestFactory().post("/admin/login/")
    credentials = {"username": "old-demo@a.test", "password": "aries-demo-2026"}
    with override_settings(DEBUG=True):
        assert authenticate(request, **credentials) == user
    with override_settings(DEBUG=False):
        assert authenticate(request, **credentials) is None


@pytest.mark.django_db
def test_the_admin_sign_in_page_links_the_password_reset(client):
    page = client.get(reverse("admin:login"))
    assert reverse("admin_password_reset").encode() in page.content
    assert client.get(reverse("admin_password_reset")).url == reverse("accounts:password-reset")
