import pytest

from core import health


@pytest.mark.django_db
def test_it_says_alive(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_is_ready_when_every_service_answers(client, settings):
    settings.CELERY_BROKER_URL = ""
    response = client.get("/health/ready/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache"}


@pytest.mark.django_db
@pytest.mark.parametrize("part", ["database", "cache"])
def test_it_names_the_failing_part(client, monkeypatch, part):
    def broken():
        raise ConnectionError("secret host detail")

    monkeypatch.setattr(health, f"check_{part}", broken)
    response = client.get("/health/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == [part]
    assert body["checks"][part] == {"status": "error", "error": "ConnectionError"}
    assert "secret host detail" not in response.content.decode()


@pytest.mark.django_db
def test_it_checks_the_broker_when_one_is_configured(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
