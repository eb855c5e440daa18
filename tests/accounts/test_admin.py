"""The staff admin: pages render per role, users are added with a role, no escalation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Membership, User
from tests.factories import LocationFactory, PHIRecordFactory


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_the_admin_index_renders_for_every_role(client, personas, role):
    client.force_login(personas[role])
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_an_administrator_adds_a_user_with_a_role(
    client, admin_user, company, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:accounts_user_add"),
            {"email_address": "New.Intake@Example.test", "role": Role.INTAKE},
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.intake@example.test")
    # The Administrator never sets (or knows) the password: the person gets a link.
    assert not user.has_usable_password()
    assert [message.to for message in mailoutbox] == [["new.intake@example.test"]]
    assert Membership.objects.get(user=user).role == Role.INTAKE
    assert Membership.objects.get(user=user).company == company
    # ...and the change page that follows is reachable (the user is in the company).
    assert client.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 200


@pytest.mark.django_db
def test_a_company_administrator_cannot_grant_operator_rights(client, admin_user, personas):
    client.force_login(admin_user)
    target = personas[Role.BILLING]
    response = client.get(reverse("admin:accounts_user_change", args=[target.pk]))
    form = response.context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert "groups" not in form.fields


@pytest.mark.django_db
def test_the_changelist_query_count_does_not_grow_with_rows(client, company, admin_user):
    location = LocationFactory(company=company)
    client.force_login(admin_user)
    url = reverse("admin:testapp_phirecord_changelist")
    PHIRecordFactory(company=company, location=location)
    client.get(url)  # warm the content-type and permission caches
    with CaptureQueriesContext(connection) as one_row:
        client.get(url)
    PHIRecordFactory.create_batch(49, company=company, location=location)
    with CaptureQueriesContext(connection) as fifty_rows:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 50
    assert len(fifty_rows) == len(one_row)


def inline_post(user, membership, **fields):
    data = {
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk),
        "memberships-0-user": str(user.pk),
        "memberships-0-role": membership.role,
        "memberships-0-is_active": "on",
    }
    data.update({f"memberships-0-{name}": value for name, value in fields.items()})
    return data


@pytest.mark.django_db
def test_the_membership_inline_refuses_to_demote_the_last_administrator(client, admin_user):
    membership = admin_user.memberships.get()
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[admin_user.pk])
    response = client.post(url, inline_post(admin_user, membership, role=Role.AUDITOR))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].non_field_errors()
    assert "without an active Administrator" in errors[0]
    membership.refresh_from_db()
    assert membership.role == Role.ADMINISTRATOR


@pytest.mark.django_db
def test_the_add_page_adds_an_existing_account_without_changing_it(
    client, outsider, personas, other_company, mailoutbox, django_capture_on_commit_callbacks
):
    person = personas[Role.CLINICIAN]
    client.force_login(outsider)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:accounts_user_add"),
            {"email_address": person.email, "role": Role.AUDITOR, "first_name": "Changed"},
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    person.refresh_from_db()
    assert person.first_name == "Pat"
    assert mailoutbox == []
    assert Membership.objects.get(user=person, company=other_company).role == Role.AUDITOR
    # Adding them again is a form error beside the e-mail.
    response = client.post(
        reverse("admin:accounts_user_add"), {"email_address": person.email, "role": Role.AUDITOR}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email_address"] == [
        "This person is already a member of this company."
    ]
