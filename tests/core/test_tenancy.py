"""Company B never sees company A: through the API, the admin and every FK choice."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Location, Membership
from core.models import AccessLog
from tests.factories import LocationFactory, PHIRecordFactory, UserFactory, member
from tests.testapp.models import PHIRecord


@pytest.fixture
def a_records(company, personas):
    location = LocationFactory(company=company)
    return {
        "phirecord": PHIRecordFactory(company=company, location=location),
        "location": location,
        "membership": Membership.objects.get(user=personas[Role.BILLING]),
        "user": personas[Role.BILLING],
    }


ADMIN_URLS = {
    "phirecord": "admin:testapp_phirecord_change",
    "location": "admin:accounts_location_change",
    "membership": "admin:accounts_membership_change",
    "user": "admin:accounts_user_change",
}
API_URLS = {
    "phirecord": "testapi:phirecord-detail",
    "location": "api:location-detail",
    "user": "api:user-detail",
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(ADMIN_URLS))
def test_it_gives_404_in_the_admin_for_another_companys_record(client, a_records, outsider, kind):
    client.force_login(outsider)
    url = reverse(ADMIN_URLS[kind], args=[a_records[kind].pk])
    response = client.get(url)
    # The admin answers a record outside the queryset with a redirect to the index and
    # a "doesn't exist" message, never with the record.
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response.url == reverse("admin:index")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(API_URLS))
def test_it_gives_404_in_the_api_for_another_companys_record(
    api_client_for, a_records, outsider, kind
):
    client = api_client_for(outsider)
    url = reverse(API_URLS[kind], args=[a_records[kind].pk])
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "x"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404


@pytest.mark.django_db
def test_it_lists_nothing_of_another_company_in_the_admin(client, a_records, outsider):
    client.force_login(outsider)
    for name in ["testapp_phirecord", "accounts_location", "accounts_membership", "accounts_user"]:
        response = client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == 200
        shown = {str(obj.pk) for obj in response.context["cl"].result_list}
        assert not shown & {str(obj.pk) for obj in a_records.values()}, name


@pytest.mark.django_db
def test_it_refuses_a_foreign_key_to_another_companys_record(api_client_for, company, outsider):
    theirs = LocationFactory(company=company)
    client = api_client_for(outsider)
    response = client.post(
        reverse("testapi:phirecord-list"),
        {"name": "X", "dob": "1950-01-02", "location": str(theirs.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "location" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_it_scopes_admin_foreign_key_choices(client, company, other_company, admin_user):
    mine = LocationFactory(company=company)
    LocationFactory(company=other_company)
    client.force_login(admin_user)
    response = client.get(reverse("admin:testapp_phirecord_add"))
    choices = response.context["adminform"].form.fields["location"].queryset
    assert list(choices) == [mine]


@pytest.mark.django_db
def test_it_fills_company_and_authors_on_admin_saves(client, company, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:testapp_phirecord_add"),
        {"name": "Grace Hopper", "dob": "1936-12-09", "mbi": "", "notes": ""},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    record = PHIRecord.objects.get(name="Grace Hopper")
    assert record.company == company
    assert record.created_by == admin_user
    assert record.updated_by == admin_user


@pytest.mark.django_db
def test_it_logs_each_admin_view_of_a_patient_linked_record(client, company, personas):
    record = PHIRecordFactory(company=company)
    auditor = personas[Role.AUDITOR]
    client.force_login(auditor)
    response = client.get(
        reverse("admin:testapp_phirecord_change", args=[record.pk]),
        HTTP_USER_AGENT="pytest-browser",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    entry = AccessLog.objects.get(object_id=str(record.pk))
    assert (entry.user, entry.via, entry.action) == (auditor, "admin", "view")
    assert (entry.ip_address, entry.user_agent, entry.company) == (
        "10.1.2.3",
        "pytest-browser",
        company,
    )


@pytest.mark.django_db
def test_for_user_follows_membership(company, other_company):
    PHIRecordFactory(company=company)
    PHIRecordFactory(company=other_company)
    operator = UserFactory(is_superuser=True)
    nobody = UserFactory()
    assert PHIRecord.objects.for_user(operator).count() == 2
    assert PHIRecord.objects.for_user(nobody).count() == 0
    left = member(company, Role.CLINICIAN)
    Membership.objects.filter(user=left).update(is_active=False)
    assert PHIRecord.objects.for_user(left).count() == 0


@pytest.mark.django_db
def test_for_user_narrows_to_the_memberships_locations(company):
    north, south = LocationFactory.create_batch(2, company=company)
    at_north = PHIRecordFactory(company=company, location=north)
    PHIRecordFactory(company=company, location=south)
    clinician = member(company, Role.CLINICIAN)
    Membership.objects.get(user=clinician).locations.set([north])
    clinician = type(clinician).objects.get(pk=clinician.pk)  # drop the cached membership
    assert list(PHIRecord.objects.for_user(clinician)) == [at_north]
    # Locations themselves are not narrowed: the model is not location-bound.
    assert Location.objects.for_user(clinician).count() == 2


@pytest.mark.django_db
def test_a_user_in_two_companies_acts_for_the_one_in_the_token(
    api_client_for, company, other_company
):
    both = member(company, Role.AUDITOR)
    Membership.objects.create(user=both, company=other_company, role=Role.AUDITOR)
    PHIRecordFactory(company=company, name="In A")
    PHIRecordFactory(company=other_company, name="In B")
    url = reverse("testapi:phirecord-list")
    for chosen, expected in [(company, "In A"), (other_company, "In B")]:
        names = [r["name"] for r in api_client_for(both, chosen).get(url).json()["results"]]
        assert names == [expected]
