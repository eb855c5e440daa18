"""No PHI in any subject line: every registered template's subject, rendered with a
real patient and the records it is about, holds none of the patient's name, date of
birth, member id or diagnosis. And the runtime guard refuses a subject that would."""

import datetime

import pytest
from django.template import engines

from core.notifications import _TEMPLATES as REGISTRY
from core.notifications import (
    NotificationTemplate,
    SubjectPHIError,
    register_template,
    registered_templates,
    render,
)
from tests.clinical.factories import AppointmentFactory, DiagnosisFactory
from tests.dme.factories import DeliveryFactory
from tests.hme.factories import CoverageFactory


@pytest.fixture
def context(company):
    from resupply.models import ResupplyRequest

    appointment = AppointmentFactory(company=company)
    patient = appointment.patient
    diagnosis = DiagnosisFactory(company=company, patient=patient)
    coverage = CoverageFactory(company=company, patient=patient)
    delivery = DeliveryFactory(company=company, order__patient=patient)
    request = ResupplyRequest(
        company=company,
        patient=patient,
        due_on=datetime.date(2026, 12, 20),
        contact_from=datetime.date(2026, 12, 6),
        ship_from=datetime.date(2026, 12, 10),
    )
    request.save()
    context = {
        "patient": patient,
        "company": company,
        "appointment": appointment,
        "order": delivery.order,
        "delivery": delivery,
        "request": request,
        "url": "https://aries.example.test/documents/sign/token/",
        "expires_at": datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC),
    }
    markers = [
        patient.first_name,
        patient.last_name,
        patient.dob.isoformat(),
        f"{patient.dob:%m/%d/%Y}",
        coverage.member_id,
        diagnosis.code,
        diagnosis.description if hasattr(diagnosis, "description") else diagnosis.code,
    ]
    return context, [marker for marker in markers if marker]


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_no_subject_holds_phi(context, channel):
    values, markers = context
    templates = registered_templates()
    assert len(templates) >= 5
    for template in templates:
        _template, subject, body = render(template.key, channel, values)
        assert subject, template.key
        assert body, template.key
        for marker in markers:
            assert marker.lower() not in subject.lower(), (template.key, marker)


@pytest.mark.django_db
def test_a_subject_with_the_patients_name_is_refused(context, tmp_path, settings):
    values, _markers = context
    folder = tmp_path / "notifications" / "leaky"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("Reminder for {{ patient.last_name }}")
    (folder / "email.txt").write_text("Body")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    engines.__dict__.pop("templates", None)
    engines._engines = {}
    register_template(NotificationTemplate("test.leaky", "notifications/leaky", "leaks"))
    try:
        with pytest.raises(SubjectPHIError):
            render("test.leaky", "email", values)
    finally:
        REGISTRY.pop("test.leaky", None)
