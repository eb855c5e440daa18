"""No PHI in logs: force each error path with marker values in every PHI field of a
patient, capture every log record at DEBUG (and the runserver access line), and find
none of the markers (45 CFR 164.502(b), minimum necessary; docs/architecture.md, PHI).

The error paths: a DELETE blocked by protected records (ProtectedError), an admin 500,
API 500s from bugs whose exceptions quote the patient (plain, ValidationError,
IntegrityError, ProtectedError), a validation error on a date of birth (API and admin),
and searches by date of birth and phone (admin box, admin find form, API).
"""

import datetime
import logging
import types

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.servers.basehttp import WSGIRequestHandler
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from clinical.api.views import PatientViewSet
from clinical.models import Patient
from core.logging import PHIScrubFilter
from tests.hme.factories import CoverageFactory

from ..clinical.factories import AppointmentFactory, PatientFactory

DOB = datetime.date(1931, 3, 17)
MARKERS = [
    "Zzmarker",  # first and last names, e-mail, street, city, notes, emergency contact
    "1931-03-17",
    "03/17/1931",
    "1931, 3, 17",  # repr of the date
    "0199123",
    "019-9123",
    "ZZMBR",
    "Zzmarkernote",
]
PHONE = "(555) 019-9123"


@pytest.fixture
def marked(company):
    patient = PatientFactory(
        company=company,
        first_name="Zzmarker",
        last_name="Zzmarkerlast",
        dob=DOB,
        phone=PHONE,
        email="zzmarker@example.test",
        address_line1="77 Zzmarker Street",
        city="Zzmarkerville",
        emergency_contact_name="Zzmarker Kin",
        emergency_contact_phone=PHONE,
        notes="Zzmarkernote: prefers mornings",
    )
    AppointmentFactory(company=company, patient=patient)
    CoverageFactory(company=company, patient=patient, member_id="ZZMBR1234567")
    return patient


@pytest.fixture
def captured(caplog):
    """Every record of every logger at DEBUG, those that do not propagate included."""
    caplog.set_level(logging.DEBUG)
    quiet = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in quiet:
        logger.addHandler(caplog.handler)
    levels = {name: logging.getLogger(name).level for name in ("django.db.backends",)}
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield caplog
    for logger in quiet:
        logger.removeHandler(caplog.handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def console_handler():
    return next(
        handler
        for handler in logging.root.handlers
        if any(isinstance(f, PHIScrubFilter) for f in handler.filters)
    )


def written(caplog):
    """What the records say: as captured, and as the console handler writes them."""
    console = console_handler()
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(record.exc_text or "")
        lines.append(caplog.handler.format(record))
        if console.filter(record):
            lines.append(console.format(record))
    return "\n".join(lines)


def assert_no_marker(caplog, expect_records=True):
    text = written(caplog)
    if expect_records:
        assert caplog.records, "the error path logged something"
    hits = [marker for marker in MARKERS if marker.lower() in text.lower()]
    assert hits == [], text


def browser(user, **kwargs):
    client = Client(raise_request_exception=False, **kwargs)
    client.force_login(user)
    return client


def api(api_client_for, user):
    client = api_client_for(user)
    client.raise_request_exception = False
    return client


@pytest.mark.django_db
def test_a_delete_blocked_by_protected_records(api_client_for, admin_user, marked, captured):
    response = api(api_client_for, admin_user).delete(f"/api/v1/patients/{marked.pk}/")
    assert response.status_code in (409, 500)
    assert_no_marker(captured)


@pytest.mark.django_db
def test_the_admin_delete_page_of_a_protected_patient(client, admin_user, marked, captured):
    client.force_login(admin_user)
    url = reverse("admin:clinical_patient_delete", args=[marked.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 200  # the "cannot delete" page
    assert Patient.objects.filter(pk=marked.pk).exists()
    assert_no_marker(captured, expect_records=False)


def quoting(patient):
    """Exceptions a careless line of code might raise, each quoting the patient."""
    return [
        RuntimeError(f"could not bill {patient.first_name} {patient.last_name}, {patient.dob}"),
        ValueError(patient),
        KeyError(patient.phone),
        ValidationError({"dob": [f"{patient.dob} is wrong for {patient.last_name}"]}),
        ValidationError(f"{patient.email} is taken"),
        IntegrityError(f'duplicate key (number, dob)=(P-1, {patient.dob}) for "{patient}"'),
        ProtectedError(
            "Cannot delete some instances of model 'Patient'",
            {patient, *patient.appointments.all()},
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("index", range(7))
def test_an_api_500_from_a_bug(api_client_for, admin_user, marked, captured, monkeypatch, index):
    error = quoting(marked)[index]

    def broken(self, request, *args, **kwargs):
        # Chained (as a cause, or as the context) to another quoting exception.
        try:
            raise LookupError(f"inner {marked.notes}")
        except LookupError as inner:
            if index % 2:
                raise error from inner
            raise error  # noqa: B904

    monkeypatch.setattr(PatientViewSet, "retrieve", broken)
    response = api(api_client_for, admin_user).get(f"/api/v1/patients/{marked.pk}/")
    assert response.status_code >= 400
    assert_no_marker(captured)
    if response.status_code >= 500:
        record = next(r for r in captured.records if r.name == "django.request")
        assert type(error).__name__ in record.exc_text  # the type is kept


@pytest.mark.django_db
def test_an_admin_500(admin_user, marked, captured, monkeypatch):
    patient_admin = admin.site._registry[Patient]

    def broken(request, object_id, from_field=None):
        raise ValueError(f"dob {marked.dob} of {marked.last_name} ({marked.phone})")

    monkeypatch.setattr(patient_admin, "get_object", broken)
    response = browser(admin_user).get(reverse("admin:clinical_patient_change", args=[marked.pk]))
    assert response.status_code == 500
    assert_no_marker(captured)
    assert "ValueError" in next(r for r in captured.records if r.levelno >= logging.ERROR).exc_text


@pytest.mark.django_db
def test_a_validation_error_on_a_date_of_birth(api_client_for, admin_user, marked, captured):
    client = api(api_client_for, admin_user)
    response = client.patch(
        f"/api/v1/patients/{marked.pk}/", {"dob": "2931-03-17", "phone": "not-a-phone Zzmarker"}
    )
    assert response.status_code == 400
    response = client.patch(f"/api/v1/patients/{marked.pk}/", {"dob": "1931-03-77"})
    assert response.status_code == 400
    assert_no_marker(captured)


@pytest.mark.django_db
def test_an_invalid_date_of_birth_in_the_admin_form(admin_user, marked, captured):
    url = reverse("admin:clinical_patient_change", args=[marked.pk])
    response = browser(admin_user).post(url, {"first_name": "Zzmarker", "dob": "1931-03-77"})
    assert response.status_code == 200  # the form again, with its errors
    assert_no_marker(captured, expect_records=False)


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["1931-03-17", "03/17/1931", PHONE])
def test_searches_by_date_of_birth_or_phone(api_client_for, admin_user, marked, captured, term):
    staff = browser(admin_user)
    assert staff.get(reverse("admin:clinical_patient_changelist"), {"q": term}).status_code == 302
    assert staff.get(reverse("admin:clinical_appointment_changelist"), {"q": term}).status_code == (
        302
    )
    found = staff.post(reverse("admin:clinical_patient_find"), {"term": term})
    assert found["Location"] == reverse("admin:clinical_patient_change", args=[marked.pk])
    client = api(api_client_for, admin_user)
    assert client.get("/api/v1/patients/", {"search": term}).status_code == 400
    assert client.post("/api/v1/patients/search/", {"q": term}).status_code == 200
    assert_no_marker(captured)


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["200", "302", "404", "500"])
def test_the_runserver_access_line_drops_the_query_string(captured, status):
    # What `manage.py runserver` writes for each request (django.core.servers.basehttp).
    handler = types.SimpleNamespace(request=None, log_date_time_string=lambda: "01/Dec/2026")
    WSGIRequestHandler.log_message(
        handler,
        '"%s" %s %s',
        "GET /admin/clinical/patient/?q=1931-03-17&phone=555-019-9123 HTTP/1.1",
        status,
        "0",
    )
    (record,) = [r for r in captured.records if r.name == "django.server"]
    assert record.getMessage() == '"GET /admin/clinical/patient/?[redacted] HTTP/1.1" ' + (
        f"{status} 0"
    )
    assert_no_marker(captured)


def test_a_model_instance_logged_as_an_argument_is_its_label_and_key(captured):
    patient = Patient(first_name="Zzmarker", last_name="Zzmarker", dob=DOB)
    logging.getLogger("django.request").warning("Looked at %s", patient)
    (record,) = captured.records
    assert record.getMessage() == f"Looked at <clinical.Patient {patient.pk}>"
    assert_no_marker(captured)


@pytest.mark.django_db
def test_a_protected_error_line_names_the_kinds_and_counts(marked, captured):
    # The API answers a ProtectedError with a 409 now (tests/core/test_no_5xx.py); any other
    # place that logs one (a task, a command, a view outside DRF) goes through the filter.
    try:
        marked.delete()
    except ProtectedError:
        logging.getLogger("django.request").exception("Internal Server Error: %s", "/x/")
    (record,) = [r for r in captured.records if r.name == "django.request"]
    assert "ProtectedError: blocked by " in record.exc_text
    assert "clinical.Appointment" in record.exc_text
    assert_no_marker(captured)


@pytest.mark.django_db(transaction=True)
def test_a_database_error_line_names_the_constraint_not_the_row(postgres_only, company, captured):
    first = PatientFactory(company=company, last_name="Zzmarker")
    twin = PatientFactory(company=company, last_name="Zzmarker")
    try:
        Patient.objects.filter(pk=twin.pk).update(number=first.number)
    except IntegrityError:
        logging.getLogger("django.request").exception("Internal Server Error: %s", "/x/")
    (record,) = [r for r in captured.records if r.name == "django.request"]
    assert "constraint patient_company_number_uniq" in record.exc_text
    assert first.number not in record.exc_text  # the DETAIL line quotes the row's values
    assert_no_marker(captured)
