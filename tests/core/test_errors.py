"""Every 4xx/5xx of the API has one shape: {"error": {"code", "message", "fields"}}."""

import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }


@pytest.mark.django_db
def test_validation_errors_name_each_field(api_client_for, admin_user):
    response = api_client_for(admin_user).post(
        reverse("api:location-list"), {"name": "", "kind": "moon"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "Some fields are invalid."
    assert error["fields"]["kind"] == ['"moon" is not a valid choice.']
    assert "city" in error["fields"]


@pytest.mark.django_db
def test_a_per_company_unique_rule_is_a_400_not_a_500(api_client_for, admin_user, location):
    response = api_client_for(admin_user).post(
        reverse("api:location-list"),
        {
            "name": location.name.upper(),
            "kind": "office",
            "address_line1": "1 A St",
            "city": "Columbus",
            "state": "OH",
            "postal_code": "43215",
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"] == (
        "This company already has a location with this name."
    )


@pytest.mark.django_db
def test_a_server_error_under_api_is_json(monkeypatch, admin_user):
    from accounts.api import views

    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeView, "get", explode)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "boom" not in response.content.decode()


@pytest.mark.django_db
def test_the_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/locations/" in schema.content
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_a_failing_request_leaves_no_actor_behind(monkeypatch, admin_user):
    from accounts.api import views
    from core.context import get_actor

    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeView, "get", explode)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    assert client.get("/api/v1/me/").status_code == 500
    assert get_actor() is None
