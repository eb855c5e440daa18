"""accounts.services: members, roles, locations, expiry, company switch, tokens."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts import services
from accounts.authentication import COMPANY_CLAIM
from accounts.choices import Role
from accounts.models import Company, Membership, User
from accounts.tenancy import get_active_membership
from core.choices import ComplianceKind
from core.exceptions import Conflict, ServiceError
from core.models import AuditEntry as LogEntry
from core.models import ComplianceEvent
from tests.factories import TEST_PASSWORD, LocationFactory, MembershipFactory, member


def entries_for(obj):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk)
    )


@pytest.mark.django_db
def test_it_adds_a_new_person_with_a_set_password_email(
    company, admin_user, location, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.add_member(
            company,
            email=" New@Example.TEST ",
            role=Role.CLINICIAN,
            locations=[location],
            first_name="Nia",
            actor=admin_user,
        )
    user = membership.user
    assert user.email == "new@example.test"
    assert user.first_name == "Nia"
    assert not user.has_usable_password()
    assert membership.location_ids == [location.pk]
    assert len(mailoutbox) == 1
    assert "/accounts/password-reset/" in mailoutbox[0].body
    event = ComplianceEvent.objects.get(kind=ComplianceKind.MEMBERSHIP_CHANGED)
    assert event.actor == admin_user
    assert event.company_id == company.pk
    assert event.detail["to"]["role"] == Role.CLINICIAN
    assert event.detail["from"] is None
    assert {entry.actor for entry in entries_for(membership)} == {admin_user}
    assert {entry.actor for entry in entries_for(user)} == {admin_user}


@pytest.mark.django_db
def test_it_adds_an_existing_account_without_touching_it(
    company, other_company, outsider, mailoutbox, django_capture_on_commit_callbacks
):
    person = member(company, Role.BILLING, first_name="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.add_member(
            other_company,
            email=person.email.upper(),
            role=Role.AUDITOR,
            first_name="Changed",
            actor=outsider,
        )
    person.refresh_from_db()
    assert membership.user == person
    assert person.first_name == "Ann"
    assert person.check_password(TEST_PASSWORD)
    assert mailoutbox == []
    assert Membership.objects.get(user=person, company=company).role == Role.BILLING


@pytest.mark.django_db
def test_it_refuses_an_active_member_and_reactivates_a_former_one(company, admin_user, personas):
    intake = personas[Role.INTAKE]
    with pytest.raises(Conflict, match="already a member"):
        services.add_member(company, email=intake.email, role=Role.BILLING, actor=admin_user)
    services.remove_member(intake.memberships.get(), actor=admin_user)
    membership = services.add_member(
        company, email=intake.email, role=Role.BILLING, actor=admin_user
    )
    assert membership.is_active
    assert membership.role == Role.BILLING
    assert Membership.objects.filter(user=intake).count() == 1


@pytest.mark.django_db
def test_it_refuses_another_companys_location_and_an_unknown_role(
    company, other_company, admin_user
):
    elsewhere = LocationFactory(company=other_company)
    with pytest.raises(ServiceError) as error:
        services.add_member(
            company, email="x@a.test", role=Role.INTAKE, locations=[elsewhere], actor=admin_user
        )
    assert "locations" in error.value.fields
    with pytest.raises(ServiceError) as error:
        services.add_member(company, email="x@a.test", role="boss", actor=admin_user)
    assert "role" in error.value.fields
    assert not User.objects.filter(email="x@a.test").exists()


@pytest.mark.django_db
def test_a_role_change_is_audited_with_its_actor(company, admin_user, personas):
    membership = personas[Role.INTAKE].memberships.get()
    services.change_role(membership, Role.BILLING, actor=admin_user)
    event = ComplianceEvent.objects.get(kind=ComplianceKind.ROLE_CHANGED)
    assert event.detail == {"from": Role.INTAKE, "to": Role.BILLING}
    assert event.actor == admin_user
    assert event.company_id == company.pk
    entry = entries_for(membership).latest("timestamp")
    assert entry.actor == admin_user
    assert entry.changes_dict["role"] == [Role.INTAKE, Role.BILLING]
    # Nothing changed: nothing recorded.
    services.change_role(membership, Role.BILLING, actor=admin_user)
    assert ComplianceEvent.objects.filter(kind=ComplianceKind.ROLE_CHANGED).count() == 1


@pytest.mark.django_db
def test_locations_and_removal_are_membership_changes(company, admin_user, personas, location):
    membership = personas[Role.WAREHOUSE].memberships.get()
    services.set_member_locations(membership, [location], actor=admin_user)
    services.remove_member(membership, actor=admin_user)
    details = [
        event.detail
        for event in ComplianceEvent.objects.filter(
            kind=ComplianceKind.MEMBERSHIP_CHANGED
        ).order_by("timestamp", "id")
    ]
    assert details[0]["to"]["locations"] == [str(location.pk)]
    assert details[1]["from"]["is_active"] is True
    assert details[1]["to"]["is_active"] is False


@pytest.mark.django_db
def test_the_last_administrator_stays(company, admin_user):
    membership = admin_user.memberships.get()
    for change in (
        lambda: services.remove_member(membership, actor=admin_user),
        lambda: services.change_role(membership, Role.AUDITOR, actor=admin_user),
        lambda: services.set_member_expiry(
            membership, timezone.localdate() + datetime.timedelta(days=30), actor=admin_user
        ),
        lambda: services.update_account(admin_user, is_active=False, actor=operator()),
    ):
        with pytest.raises(Conflict) as error:
            change()
        assert error.value.code == "last_administrator"
    membership.refresh_from_db()
    assert membership.is_active
    assert membership.role == Role.ADMINISTRATOR


def operator():
    return User.objects.get_or_create(
        email="ops@aries.test", defaults={"is_superuser": True, "is_staff": True}
    )[0]


@pytest.mark.django_db
def test_a_second_administrator_lets_the_first_step_down(company, admin_user):
    second = member(company, Role.ADMINISTRATOR, email="second@a.test")
    services.change_role(admin_user.memberships.get(), Role.AUDITOR, actor=admin_user)
    with pytest.raises(Conflict):
        services.remove_member(second.memberships.get(), actor=second)


@pytest.mark.django_db
def test_an_administrator_with_an_end_date_does_not_count_as_the_one_left(company, admin_user):
    temporary = member(company, Role.ADMINISTRATOR, email="temp@a.test")
    services.set_member_expiry(
        temporary.memberships.get(),
        timezone.localdate() + datetime.timedelta(days=5),
        actor=admin_user,
    )
    with pytest.raises(Conflict):
        services.remove_member(admin_user.memberships.get(), actor=admin_user)


@pytest.mark.django_db
def test_an_expired_membership_no_longer_grants_its_role(company, other_company):
    user = member(company, Role.BILLING)
    MembershipFactory(user=user, company=other_company, role=Role.AUDITOR)
    membership = user.memberships.get(company=company)
    assert user.has_perm("hme.add_claim")
    membership.expires_on = timezone.localdate() - datetime.timedelta(days=1)
    membership.save()

    user = User.objects.get(pk=user.pk)
    assert get_active_membership(user).company == other_company
    assert not user.has_perm("hme.add_claim")
    assert list(Company.objects.for_user(user)) == [other_company]
    assert list(Membership.objects.active().filter(user=user)) == [
        user.memberships.get(company=other_company)
    ]
    with pytest.raises(ServiceError):
        services.switch_company(user, company)
    with pytest.raises(ServiceError):
        services.issue_token(user, company.pk)


@pytest.mark.django_db
def test_the_expiry_day_itself_still_counts(company):
    user = member(company, Role.BILLING)
    Membership.objects.filter(user=user).update(expires_on=timezone.localdate())
    assert get_active_membership(User.objects.get(pk=user.pk)) is not None


@pytest.mark.django_db
def test_it_switches_only_to_a_company_the_user_belongs_to(admin_user, company, other_company):
    assert services.switch_company(admin_user, company).company == company
    for refused in (other_company, other_company.pk, "not-a-uuid", None):
        with pytest.raises(ServiceError, match="not an active member"):
            services.switch_company(admin_user, refused)


@pytest.mark.django_db
def test_it_issues_a_token_for_the_chosen_or_the_oldest_company(admin_user, company, other_company):
    MembershipFactory(user=admin_user, company=other_company, role=Role.AUDITOR)
    assert services.issue_token(admin_user)[COMPANY_CLAIM] == str(company.pk)
    assert services.issue_token(admin_user, other_company)[COMPANY_CLAIM] == str(other_company.pk)
    nobody = User.objects.create_user("nobody@x.test", TEST_PASSWORD)
    with pytest.raises(ServiceError, match="any company"):
        services.issue_token(nobody)
    assert COMPANY_CLAIM not in services.issue_token(operator())


@pytest.mark.django_db
def test_only_an_operator_changes_an_account(admin_user, personas):
    target = personas[Role.BILLING]
    with pytest.raises(ServiceError, match="Only an operator"):
        services.update_account(target, first_name="Mallory", actor=admin_user)
    with pytest.raises(ServiceError, match="Only an operator"):
        services.set_password(target, "a-fine-new-passphrase", actor=admin_user)
    services.update_account(target, first_name="Renamed", email="NEW@A.TEST", actor=operator())
    target.refresh_from_db()
    assert (target.first_name, target.email) == ("Renamed", "new@a.test")
    with pytest.raises(Conflict):
        services.update_account(target, email=admin_user.email, actor=operator())
