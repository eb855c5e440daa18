"""The admin's patient search keeps PHI out of URLs: names and numbers in the search
box (GET), dates of birth, phones, e-mails and MBIs in the POSTed "Find a patient" form;
a PHI term in ``?q=`` is refused without being searched or echoed."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from tests.factories import UserFactory, member

from .factories import AppointmentFactory, PatientFactory

FIND = reverse("admin:clinical_patient_find")
DOB = "1931-03-17"
PHONE = "(555) 019-9123"


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def jane(company):
    return PatientFactory(
        company=company,
        first_name="Jane",
        last_name="Doe",
        dob=datetime.date(1931, 3, 17),
        phone=PHONE,
        email="jane.doe@example.test",
    )


def changelist(name):
    return reverse(f"admin:clinical_{name}_changelist")


def assert_term_absent(text, *terms):
    for term in terms:
        assert term not in text
        assert term.replace("-", "%2D") not in text


@pytest.mark.django_db
def test_the_find_form_posts_its_term(staff):
    response = staff.get(FIND)
    assert response.status_code == 200
    form = re.search(
        r'<form method="(\w+)" action="([^"]*)" id="patient-find-form"', response.content.decode()
    )
    assert form.groups() == ("post", FIND)


@pytest.mark.django_db
def test_the_patient_list_links_to_the_find_form(staff):
    assert f'href="{FIND}"' in staff.get(changelist("patient")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "term", [DOB, "03/17/1931", PHONE, "555-019-9123", "jane.doe@example.test"]
)
def test_one_match_opens_the_patient_with_only_its_id_in_the_url(staff, jane, company, term):
    PatientFactory(company=company, dob=datetime.date(1960, 1, 1), phone="(614) 555-0100")
    response = staff.post(FIND, {"term": term})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:clinical_patient_change", args=[jane.pk])


@pytest.mark.django_db
def test_several_matches_are_listed_on_the_posted_page(staff, jane, company):
    twin = PatientFactory(company=company, last_name="Roe", dob=jane.dob)
    response = staff.post(FIND, {"term": DOB})
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == FIND
    assert response.request["QUERY_STRING"] == ""
    assert response.context["matches"] == [jane, twin]
    html = response.content.decode()
    for patient in (jane, twin):
        assert reverse("admin:clinical_patient_change", args=[patient.pk]) in html
    links = re.findall(r'href="([^"]+)"', html)
    assert all(DOB not in link for link in links)


@pytest.mark.django_db
def test_the_match_list_runs_a_constant_number_of_queries(staff, company):
    dob = datetime.date(1940, 2, 3)

    def queries_for(count):
        PatientFactory.create_batch(count, company=company, dob=dob)
        with CaptureQueriesContext(connection) as queries:
            response = staff.post(FIND, {"term": "1940-02-03"})
        assert len(response.context["matches"]) >= count
        return len(queries)

    assert queries_for(2) == queries_for(10)


@pytest.mark.django_db
def test_no_match_is_an_error_beside_the_field(staff, jane):
    response = staff.post(FIND, {"term": "1999-12-31"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"term": ["No patient of your company matches."]}


@pytest.mark.django_db
def test_an_empty_term_is_an_error_beside_the_field(staff):
    response = staff.post(FIND, {"term": "   "})
    assert response.status_code == 200
    assert "term" in response.context["form"].errors


@pytest.mark.django_db
def test_it_never_finds_another_companys_patient(client, jane, outsider):
    client.force_login(outsider)
    response = client.post(FIND, {"term": DOB})
    assert response.status_code == 200
    assert response.context["matches"] is None
    assert "Doe" not in response.content.decode()


@pytest.mark.django_db
def test_a_user_without_patient_rights_cannot_use_it(client, company):
    # Every staff role reads patients; a staff account of no company reads none.
    user = UserFactory(email="nobody@a.test", is_staff=True)
    client.force_login(user)
    assert client.post(FIND, {"term": DOB}).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("term", [DOB, "03/17/1931", PHONE, "jane.doe@example.test", "1EG4TE5MK73"])
@pytest.mark.parametrize("name", ["patient", "appointment", "medicalrecord", "diagnosis"])
def test_a_phi_term_in_the_url_is_refused_without_being_searched(staff, jane, name, term):
    response = staff.get(changelist(name), {"q": term, "o": "1"})
    assert response.status_code == 302
    # Sent back to the list without the term (other parameters kept).
    assert response["Location"] == f"{changelist(name)}?o=1"
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert len(messages) == 1
    assert FIND in messages[0]
    assert_term_absent(messages[0], term)


@pytest.mark.django_db
def test_names_and_numbers_still_search_from_the_box(staff, jane, company):
    visit = AppointmentFactory(company=company, patient=jane)
    for term in ("Doe", "Doe, Jane", jane.number):
        response = staff.get(changelist("appointment"), {"q": term})
        assert list(response.context["cl"].result_list) == [visit]


@pytest.mark.django_db
def test_the_autocomplete_finds_nothing_by_a_phi_term(staff, jane):
    response = staff.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "clinical",
            "model_name": "appointment",
            "field_name": "patient",
            "term": DOB,
        },
    )
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db
def test_linked_lists_show_the_patient_by_name(staff, jane, company):
    AppointmentFactory(company=company, patient=jane)
    html = staff.get(changelist("appointment")).content.decode()
    assert "Doe, Jane (P-" in html


@pytest.mark.django_db
def test_a_warehouse_user_finds_patients_to_deliver_to(client, company, jane):
    warehouse = member(company, Role.WAREHOUSE, email="warehouse-find@a.test")
    client.force_login(warehouse)
    response = client.post(FIND, {"term": DOB})
    assert response.status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    [
        "admin:dme_order_changelist",
        "admin:dme_rental_changelist",
        "admin:hme_coverage_changelist",
        "admin:hme_claim_changelist",
        "admin:hme_authorization_changelist",
    ],
)
def test_every_apps_lists_refuse_a_phi_term(staff, jane, url_name):
    # Not every app's admin is built on PatientLinkedSearchMixin: the middleware
    # (clinical.middleware.AdminPHISearchGuardMiddleware) guards them all.
    response = staff.get(reverse(url_name), {"q": DOB})
    assert response.status_code == 302
    assert response["Location"] == reverse(url_name)
    assert_term_absent(response["Location"], DOB)


@pytest.mark.django_db
def test_the_audit_trail_names_a_patient_by_number_only(jane):
    from core.models import AuditEntry as LogEntry

    entry = LogEntry.objects.get_for_object(jane).get()
    assert entry.object_repr == jane.number
    assert "Doe" not in entry.object_repr
