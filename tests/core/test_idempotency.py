"""The Idempotency-Key mechanism (core.api.idempotency), on an ordinary create."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.choices import IdempotencyState
from core.models import IdempotencyKey
from core.tasks import prune_idempotency_keys
from tests.testapp.models import PHIRecord

URL = "/api/test/phi-records/"
BODY = {"name": "Ada Lovelace", "dob": "1950-01-02", "mbi": "1EG4TE5MK73"}


@pytest.fixture
def client(api_client_for, admin_user):
    return api_client_for(admin_user)


@pytest.mark.django_db
def test_a_repeat_replays_the_first_response_and_changes_nothing(client):
    first = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert PHIRecord.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(client):
    client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post(
        URL, {**BODY, "name": "Someone Else"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert PHIRecord.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_while_the_first_still_runs_is_a_409(client, admin_user):
    first = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="probe")
    fingerprint = IdempotencyKey.objects.get(key="probe").fingerprint
    assert first.status_code == 201
    IdempotencyKey.objects.create(user=admin_user, key="k-3", fingerprint=fingerprint)
    response = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"


@pytest.mark.django_db
def test_a_failed_request_stores_nothing_so_the_client_may_retry(client):
    bad = client.post(URL, {**BODY, "dob": "not a date"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.filter(key="k-4").exists()
    good = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert good.status_code == 201


@pytest.mark.django_db
def test_keys_belong_to_one_user(api_client_for, personas):
    from accounts.choices import Role

    first = api_client_for(personas[Role.ADMINISTRATOR]).post(
        URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    second = api_client_for(personas[Role.INTAKE]).post(
        URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


@pytest.mark.django_db
def test_the_stored_response_is_encrypted(client):
    client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    stored = IdempotencyKey.objects.get(key="k-5")
    assert stored.state == IdempotencyState.DONE
    assert "1EG4TE5MK73" in stored.response_body  # decrypted by the field
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM core_idempotencykey WHERE id = %s", [stored.pk])
        (ciphertext,) = cursor.fetchone()
    assert ciphertext.startswith("gAAAAA")
    assert "1EG4TE5MK73" not in ciphertext


@pytest.mark.django_db
def test_a_too_long_key_is_refused(client):
    response = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_old_keys_are_pruned(client, settings):
    client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="old")
    client.post(URL, {**BODY, "name": "B"}, format="json", HTTP_IDEMPOTENCY_KEY="new")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)
    )
    assert prune_idempotency_keys.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_reverse_is_stable():
    assert reverse("testapi:phirecord-list") == URL
