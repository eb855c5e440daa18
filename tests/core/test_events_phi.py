"""No PHI in events: walk the demo (every service that emits, through seed_demo),
look at some of it through the API (phi.accessed), then search every event body for
every encrypted value in the database."""

import json
import re

import pytest
from django.apps import apps
from django.core.management import call_command
from encrypted_model_fields.fields import EncryptedMixin

from accounts.models import User
from core.models import OutboxEvent


def encrypted_values():
    values = set()
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]
        if not names:
            continue
        for row in model._default_manager.values_list(*names):
            for value in row:
                text = str(value or "").strip()
                if len(text) >= 4:
                    values.add(text)
    return values


@pytest.mark.django_db
def test_no_encrypted_value_reaches_an_event(settings, api_client_for):
    settings.DEBUG = True
    call_command("seed_demo")
    administrator = User.objects.get(email="administrator@demo.ariesone.test")
    client = api_client_for(administrator)
    for path in ("/api/v1/patients/", "/api/v1/claims/", "/api/v1/orders/"):
        assert client.get(path).status_code == 200
    events = list(OutboxEvent.objects.all())
    assert {e.event_type for e in events} >= {"patient.created", "phi.accessed"}
    secrets = encrypted_values()
    assert secrets, "the demo holds encrypted values"
    bodies = [json.dumps(event.envelope()) for event in events]
    leaks = {value for value in secrets for body in bodies if _contains(body, value)}
    assert not leaks


def _contains(body, value):
    """The value as a whole word: a five-digit ZIP code also turns up inside random
    UUIDs and timestamps' microseconds (CI once found 43113 in one), which is not a leak."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", body) is not None


def test_the_leak_check_finds_whole_values_only():
    assert _contains('{"zip": "43113"}', "43113")
    assert _contains('{"name": "Ann Lee, 12 Main St"}', "12 Main St")
    assert not _contains('{"id": "7a43113f-0c1e-4e2b-9d6b-8f1e2d3c4b5a"}', "43113")
    assert not _contains('{"time": "2026-12-01T19:01:46.431134Z"}', "43113")
