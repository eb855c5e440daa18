"""/api/v1/users/, /api/v1/companies/ and the User model rules."""

import pytest
from django.db import IntegrityError
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Membership, User
from tests.factories import UserFactory, member


@pytest.mark.django_db
def test_it_lists_only_the_companys_staff(api_client_for, admin_user, personas, outsider):
    response = api_client_for(admin_user).get(reverse("api:user-list"), {"page_size": 100})
    emails = {row["email"] for row in response.json()["results"]}
    assert emails == {user.email for user in personas.values()}
    roles = {row["email"]: row["role"] for row in response.json()["results"]}
    assert roles[personas[Role.BILLING].email] == Role.BILLING


@pytest.mark.django_db
def test_it_adds_a_user_to_the_company_with_a_role(api_client_for, admin_user, company):
    response = api_client_for(admin_user).post(
        reverse("api:user-list"),
        {"email": "New.Person@Example.test", "first_name": "New", "role": Role.INTAKE},
        format="json",
    )
    assert response.status_code == 201, response.content
    user = User.objects.get(email="new.person@example.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).role == Role.INTAKE
    assert Membership.objects.get(user=user).company == company


@pytest.mark.django_db
def test_it_explains_what_is_wrong_with_a_new_user(api_client_for, admin_user):
    client = api_client_for(admin_user)
    url = reverse("api:user-list")
    response = client.post(url, {"email": "n@a.test", "password": "x" * 20}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]
    response = client.post(url, {"email": admin_user.email.upper(), "role": "intake"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_member"
    assert response.json()["error"]["fields"]["email"] == ["Already a member of this company."]


@pytest.mark.django_db
def test_it_removes_a_user_from_the_company_but_keeps_the_account(
    api_client_for, admin_user, personas
):
    billing = personas[Role.BILLING]
    response = api_client_for(admin_user).delete(reverse("api:user-detail", args=[billing.pk]))
    assert response.status_code == 204
    assert User.objects.filter(pk=billing.pk).exists()
    assert not Membership.objects.get(user=billing).is_active


@pytest.mark.django_db
def test_only_administrators_manage_users(api_client_for, personas):
    client = api_client_for(personas[Role.BILLING])
    response = client.post(reverse("api:user-list"), {"email": "x@y.test", "role": "intake"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_it_shows_only_the_users_companies(api_client_for, admin_user, company, other_company):
    response = api_client_for(admin_user).get(reverse("api:company-list"))
    assert [row["id"] for row in response.json()["results"]] == [str(company.pk)]
    other = reverse("api:company-detail", args=[other_company.pk])
    assert api_client_for(admin_user).get(other).status_code == 404


@pytest.mark.django_db
def test_email_is_unique_whatever_its_case():
    UserFactory(email="Case@Example.test")
    assert User.objects.get_by_natural_key("CASE@example.TEST").email == "case@example.test"
    with pytest.raises(IntegrityError):
        UserFactory(email="CASE@EXAMPLE.TEST")


@pytest.mark.django_db
def test_permissions_follow_the_role_in_the_active_company(company, other_company):
    user = member(company, Role.WAREHOUSE)
    assert user.has_perm("accounts.view_location")
    assert not user.has_perm("accounts.add_location")
    assert not user.has_perm("core.view_auditentry")
    auditor = member(company, Role.AUDITOR)
    assert auditor.has_perm("core.view_auditentry")
    assert auditor.has_perm("core.view_accesslog")
    assert not auditor.has_perm("accounts.change_location")


@pytest.mark.django_db
def test_an_administrator_sets_a_membership_expiry(api_client_for, admin_user, personas):
    intake = personas[Role.INTAKE]
    url = reverse("api:user-detail", args=[intake.pk])
    response = api_client_for(admin_user).patch(url, {"expires_on": "2020-01-31"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["expires_on"] == "2020-01-31"
    # Expired: the role no longer applies, so the person acts for no company.
    me = api_client_for(intake).get(reverse("api:me")).json()
    assert me["active_company"] is None
    assert me["role"] is None
