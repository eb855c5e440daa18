"""Things that read as bugs (issue 14, item 8); each failed before its fix."""

import datetime
import io
import zoneinfo

import pytest
from django.core.management.base import OutputWrapper
from django.test import override_settings
from django.urls import reverse

from accounts.choices import Role
from core.backups.progress import plain_stream
from hme.choices import ClaimStatus
from hme.forms import ClaimAdminForm
from tests.clinical.factories import AppointmentFactory
from tests.hme.factories import ClaimFactory

pytestmark = pytest.mark.django_db


def test_a_closed_claim_shows_its_diagnoses_with_dots(client, personas, company):
    claim = ClaimFactory(company=company, diagnosis_codes=["G4733"])
    type(claim).objects.filter(pk=claim.pk).update(status=ClaimStatus.VOID)
    client.force_login(personas[Role.BILLING])
    page = client.get(reverse("admin:hme_claim_change", args=[claim.pk]))
    assert b"G47.33" in page.content
    assert b"[&quot;G4733&quot;]" not in page.content


def test_the_diagnosis_help_text_has_no_example_like_patient_data():
    assert "G47.33" not in str(ClaimAdminForm.base_fields["diagnosis_codes"].help_text)


@override_settings(TIME_ZONE="America/New_York")
def test_an_appointments_title_is_in_local_time(company):
    starts = datetime.datetime(2026, 3, 2, 15, 0, tzinfo=datetime.UTC)
    appointment = AppointmentFactory(
        company=company, starts_at=starts, ends_at=starts + datetime.timedelta(hours=1)
    )
    local = starts.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert str(appointment).endswith(f"{local:%Y-%m-%d %H:%M}")
    assert "15:00" not in str(appointment)


def test_progress_bars_bypass_the_error_style():
    raw = io.StringIO()
    wrapper = OutputWrapper(raw)
    wrapper.style_func = lambda text: f"RED[{text}]"
    plain_stream(wrapper).write("50%|#####")
    assert raw.getvalue() == "50%|#####"
