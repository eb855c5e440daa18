"""The compliance log: one call, category and severity from the kind, no PHI."""

import pytest
from django.test import RequestFactory

from accounts.choices import Role
from core.choices import ComplianceKind, ComplianceSeverity, HipaaCategory
from core.compliance import KINDS, record_event
from core.context import acting_as
from core.models import ComplianceEvent
from tests.factories import member

pytestmark = pytest.mark.django_db


def test_every_kind_has_a_category_and_severity():
    assert set(KINDS) == set(ComplianceKind)


def test_it_records_an_event_for_the_request_user(company):
    user = member(company, Role.ADMINISTRATOR, email="admin@a.test")
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    request.user = user

    event = record_event(
        ComplianceKind.ROLE_CHANGED,
        company=company,
        request=request,
        target=user,
        detail={"from": "intake", "to": "billing"},
    )

    event.refresh_from_db()
    assert event.category == HipaaCategory.ACCESS_CONTROL
    assert event.severity == ComplianceSeverity.WARNING
    assert event.company == company
    assert event.actor == user
    assert event.actor_email == "admin@a.test"
    assert event.target_id == str(user.pk)
    assert event.ip_address == "203.0.113.7"
    assert event.detail == {"from": "intake", "to": "billing"}


def test_it_takes_the_acting_user_of_a_job_and_a_severity_override(company):
    user = member(company, Role.BILLING, email="billing@a.test")
    with acting_as(user):
        event = record_event(ComplianceKind.BACKUP_VERIFIED, company=company.pk, severity="warning")
    assert event.actor == user
    assert event.severity == ComplianceSeverity.WARNING
    assert ComplianceEvent.objects.get().company_id == company.pk


def test_a_system_event_has_no_actor():
    event = record_event(ComplianceKind.BACKUP_FAILED)
    assert event.actor is None
    assert event.actor_email == ""
    assert event.severity == ComplianceSeverity.CRITICAL
