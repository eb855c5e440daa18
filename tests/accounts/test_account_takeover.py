"""Issue 9, finding 1: company B's Administrator took over accounts shared with company A.

Setting: A's Administrator is also B's Auditor; A's Billing person is also B's Intake.
B's Administrator (``outsider``) tries every path the probe used.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Membership, User
from core.choices import ComplianceKind
from core.models import AuditEntry as LogEntry
from core.models import ComplianceEvent
from tests.factories import TEST_PASSWORD, MembershipFactory, member

ATTACKER_PASSWORD = "attacker-chosen-passphrase-42"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def shared(company, other_company, admin_user, personas):
    """A's Administrator (B's Auditor) and A's Billing person (B's Intake)."""
    MembershipFactory(user=admin_user, company=other_company, role=Role.AUDITOR)
    billing = personas[Role.BILLING]
    MembershipFactory(user=billing, company=other_company, role=Role.INTAKE)
    return {"admin": admin_user, "billing": billing}


@pytest.fixture
def b_api(api_client_for, outsider, other_company):
    return api_client_for(outsider, other_company)


def signs_in_to(anon_client, user, password, company):
    response = anon_client.post(
        TOKEN_URL, {"email": user.email, "password": password, "company": str(company.pk)}
    )
    return response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["admin", "billing"])
def test_it_refuses_a_password_set_by_another_companys_administrator(
    b_api, shared, target, anon_client, company
):
    user = shared[target]
    url = reverse("api:user-detail", args=[user.pk])
    response = b_api.patch(url, {"password": ATTACKER_PASSWORD}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert not signs_in_to(anon_client, user, ATTACKER_PASSWORD, company)
    assert signs_in_to(anon_client, user, TEST_PASSWORD, company)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "attacker@b.test"),
        ("first_name", "Mallory"),
        ("last_name", "Mallory"),
        ("is_active", False),
        ("is_staff", False),
    ],
)
def test_it_refuses_account_fields_from_a_companys_administrator(b_api, shared, field, value):
    user = shared["billing"]
    before = getattr(user, field)
    response = b_api.patch(
        reverse("api:user-detail", args=[user.pk]), {field: value}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    user.refresh_from_db()
    assert getattr(user, field) == before


@pytest.mark.django_db
def test_a_user_of_company_a_only_is_a_404_for_company_b(b_api, personas):
    url = reverse("api:user-detail", args=[personas[Role.CLINICIAN].pk])
    assert b_api.get(url).status_code == 404
    assert b_api.patch(url, {"role": Role.INTAKE}, format="json").status_code == 404
    assert b_api.delete(url).status_code == 404


@pytest.mark.django_db
def test_company_b_changes_only_its_own_membership_of_a_shared_user(
    b_api, shared, company, other_company
):
    user = shared["billing"]
    url = reverse("api:user-detail", args=[user.pk])
    response = b_api.patch(url, {"role": Role.WAREHOUSE}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["role"] == Role.WAREHOUSE
    assert Membership.objects.get(user=user, company=other_company).role == Role.WAREHOUSE
    assert Membership.objects.get(user=user, company=company).role == Role.BILLING


@pytest.mark.django_db
def test_removing_a_shared_user_from_b_leaves_the_account_and_company_a(
    b_api, shared, company, other_company, anon_client
):
    user = shared["billing"]
    response = b_api.delete(reverse("api:user-detail", args=[user.pk]))
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.is_active
    assert not Membership.objects.get(user=user, company=other_company).is_active
    assert Membership.objects.get(user=user, company=company).is_active
    assert signs_in_to(anon_client, user, TEST_PASSWORD, company)


@pytest.mark.django_db
def test_the_admin_password_page_is_refused_for_another_companys_user(client, outsider, shared):
    target = shared["admin"]
    client.force_login(outsider)
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    assert client.get(url).status_code == 403
    response = client.post(
        url,
        {"password1": ATTACKER_PASSWORD, "password2": ATTACKER_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.check_password(TEST_PASSWORD)


@pytest.mark.django_db
def test_the_admin_change_form_keeps_account_fields_read_only(client, outsider, shared):
    target = shared["admin"]
    client.force_login(outsider)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    for field in ["email", "first_name", "last_name", "password", "is_active", "is_staff"]:
        assert field not in form.fields
    assert reverse("admin:auth_user_password_change", args=[target.pk]).encode() not in (
        page.content
    )
    # The membership inline shows company B's membership only.
    inline = page.context["inline_admin_formsets"][0].formset
    assert [f.instance.company_id for f in inline.forms] == [outsider.memberships.get().company_id]

    membership = inline.forms[0].instance
    response = client.post(
        url,
        {
            "email": "attacker@b.test",
            "first_name": "Mallory",
            "is_active": "",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(membership.pk),
            "memberships-0-user": str(target.pk),
            "memberships-0-role": Role.INTAKE,
            "memberships-0-is_active": "on",
        },
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.email == "administrator@a.test"
    assert target.first_name == "Pat"
    assert target.is_active
    assert Membership.objects.get(pk=membership.pk).role == Role.INTAKE
    assert target.memberships.get(company__name="Company A").role == Role.ADMINISTRATOR


@pytest.mark.django_db
def test_a_companys_administrator_cannot_delete_an_account(client, outsider, shared):
    client.force_login(outsider)
    url = reverse("admin:accounts_user_delete", args=[shared["billing"].pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=shared["billing"].pk).exists()


@pytest.mark.django_db
def test_company_b_cannot_see_or_change_company_as_memberships(client, outsider, shared, company):
    a_membership = Membership.objects.get(user=shared["billing"], company=company)
    client.force_login(outsider)
    changelist = client.get(reverse("admin:accounts_membership_changelist"))
    assert a_membership not in list(changelist.context["cl"].result_list)
    url = reverse("admin:accounts_membership_change", args=[a_membership.pk])
    # The admin's "does not exist" answer (a redirect to the index), as for any other id.
    assert client.get(url).status_code in (302, 404)
    assert client.post(url, {"role": Role.AUDITOR, "is_active": ""}).status_code in (302, 404)
    a_membership.refresh_from_db()
    assert a_membership.role == Role.BILLING
    assert a_membership.is_active


@pytest.mark.django_db
def test_the_last_administrator_cannot_remove_or_demote_themself(
    api_client_for, outsider, other_company
):
    client = api_client_for(outsider, other_company)
    url = reverse("api:user-detail", args=[outsider.pk])
    response = client.delete(url)
    assert response.status_code == 409
    body = response.json()["error"]
    assert body["code"] == "last_administrator"
    assert "without an active Administrator" in body["message"]
    response = client.patch(url, {"role": Role.AUDITOR}, format="json")
    assert response.status_code == 409
    response = client.patch(url, {"expires_on": "2030-01-01"}, format="json")
    assert response.status_code == 409
    membership = outsider.memberships.get()
    assert membership.role == Role.ADMINISTRATOR
    assert membership.is_active
    assert membership.expires_on is None


@pytest.mark.django_db
def test_the_last_administrator_cannot_demote_themself_in_the_admin(client, outsider):
    membership = outsider.memberships.get()
    client.force_login(outsider)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    response = client.post(url, {"role": Role.AUDITOR, "is_active": "on"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "without an active Administrator" in errors[0]
    membership.refresh_from_db()
    assert membership.role == Role.ADMINISTRATOR


@pytest.mark.django_db
def test_the_admin_remove_action_refuses_the_last_administrator(client, outsider):
    membership = outsider.memberships.get()
    client.force_login(outsider)
    response = client.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "remove_from_company", "_selected_action": [str(membership.pk)]},
        follow=True,
    )
    assert b"without an active Administrator" in response.content
    membership.refresh_from_db()
    assert membership.is_active


@pytest.mark.django_db
def test_an_operator_still_sets_a_password_and_it_is_audited(client, shared, company):
    operator = User.objects.create_superuser("ops@aries.test", TEST_PASSWORD)
    target = shared["admin"]
    client.force_login(operator)
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    response = client.post(
        url,
        {"password1": ATTACKER_PASSWORD, "password2": ATTACKER_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.check_password(ATTACKER_PASSWORD)
    event = ComplianceEvent.objects.get(kind=ComplianceKind.PASSWORD_CHANGED)
    assert event.actor == operator
    assert event.target_id == str(target.pk)
    assert event.detail == {"by": "operator"}
    entry = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_pk=str(target.pk)
    ).latest("timestamp")
    assert entry.actor == operator
    assert entry.changes_dict["password"] == ["[password]", "[password]"]


@pytest.mark.django_db
def test_a_user_opens_their_own_admin_password_page(client, personas):
    user = personas[Role.ADMINISTRATOR]
    client.force_login(user)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_the_users_list_query_count_does_not_grow_with_page_size(
    api_client_for, admin_user, company, location
):
    client = api_client_for(admin_user)
    url = reverse("api:user-list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(url, {"page_size": 100}).json()["results"]) == len(Role)
    for index in range(20):
        user = member(company, Role.INTAKE, email=f"more{index}@a.test")
        user.memberships.get().locations.set([location])
    with CaptureQueriesContext(connection) as many:
        rows = client.get(url, {"page_size": 100}).json()["results"]
    assert len(rows) == len(Role) + 20
    assert sum(1 for row in rows if row["locations"] == [str(location.pk)]) == 20
    assert len(many) == len(few)
