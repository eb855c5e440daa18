"""Each cause of a 500 the fuzz run found (issue 9 item 5) is now a 4xx in the one error
shape, and the body names no record's text (``str()`` of a patient is PHI)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from dme.choices import AssetStatus, OrderStatus
from tests.clinical.factories import (
    AIModelFactory,
    AppointmentFactory,
    PatientFactory,
    PredictionLogFactory,
    ProviderFactory,
)
from tests.dme.factories import (
    AssetFactory,
    EquipmentFactory,
    OrderLineFactory,
    StockLevelFactory,
)
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return body["error"]


# DELETE of a record still in use: 409 in_use with kinds and counts --------------------


def test_it_refuses_to_delete_a_provider_with_appointments(company, admin_user, api_client_for):
    provider = ProviderFactory(company=company)
    patient = PatientFactory(company=company, last_name="Quixotic")
    AppointmentFactory.create_batch(2, company=company, provider=provider, patient=patient)
    response = api_client_for(admin_user).delete(reverse("api:provider-detail", args=[provider.pk]))
    error = assert_error(response, 409, "in_use")
    assert error["message"] == "This record is in use by 2 appointments and cannot be deleted."
    assert "Quixotic" not in response.content.decode()
    assert provider.__class__.objects.filter(pk=provider.pk).exists()


def test_it_refuses_to_delete_a_patient_in_use_naming_no_one(company, admin_user, api_client_for):
    patient = PatientFactory(company=company, last_name="Quixotic")
    AppointmentFactory(company=company, patient=patient)
    PredictionLogFactory(company=company, patient=patient)
    response = api_client_for(admin_user).delete(reverse("api:patient-detail", args=[patient.pk]))
    error = assert_error(response, 409, "in_use")
    assert "1 appointment" in error["message"]
    assert "Quixotic" not in response.content.decode()
    assert patient.number not in response.content.decode()


def test_it_refuses_to_delete_a_location_in_use(company, admin_user, api_client_for):
    location = LocationFactory(company=company)
    AppointmentFactory(company=company, location=location)
    response = api_client_for(admin_user).delete(reverse("api:location-detail", args=[location.pk]))
    error = assert_error(response, 409, "in_use")
    assert "1 appointment" in error["message"]


def test_it_refuses_to_delete_an_ai_model_with_predictions(company, admin_user, api_client_for):
    model = AIModelFactory(company=company)
    PredictionLogFactory.create_batch(3, company=company, model=model)
    response = api_client_for(admin_user).delete(reverse("api:aimodel-detail", args=[model.pk]))
    error = assert_error(response, 409, "in_use")
    assert "3 prediction" in error["message"]


def test_another_companys_record_in_use_is_still_a_404(
    company, other_company, outsider, api_client_for
):
    provider = ProviderFactory(company=company)
    AppointmentFactory(company=company, provider=provider)
    response = api_client_for(outsider).delete(reverse("api:provider-detail", args=[provider.pk]))
    assert_error(response, 404, "not_found")


def test_it_keeps_the_way_out_of_the_viewset_after_the_counts(company, admin_user, api_client_for):
    from tests.hme.factories import CoverageFactory

    coverage = CoverageFactory(company=company)
    response = api_client_for(admin_user).delete(
        reverse("api:payer-detail", args=[coverage.payer.pk])
    )
    error = assert_error(response, 409, "in_use")
    assert error["message"].startswith("This record is in use by 1 ")
    assert error["message"].endswith("deactivate it instead.")


# Constraint violations: checked by the service first --------------------------------


def test_it_refuses_maintenance_for_a_unit_with_a_patient(company, admin_user, api_client_for):
    patient = PatientFactory(company=company)
    asset = AssetFactory(
        company=company, status=AssetStatus.WITH_PATIENT, location=None, patient=patient
    )
    response = api_client_for(admin_user).post(
        reverse("api:asset-send-to-maintenance", args=[asset.pk]), {}, format="json"
    )
    error = assert_error(response, 409, "invalid_transition")
    assert "only a unit in stock can be sent to maintenance" in error["message"]
    asset.refresh_from_db()
    assert asset.status == AssetStatus.WITH_PATIENT


def test_a_maintenance_entry_with_a_too_long_technician_is_a_400(
    company, admin_user, api_client_for
):
    asset = AssetFactory(company=company)
    response = api_client_for(admin_user).post(
        reverse("api:asset-maintenance", args=[asset.pk]),
        {"kind": "inspection", "work_done": "Checked.", "performed_by": "x" * 201},
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert "performed_by" in error["fields"]


# Integers against their column ranges ------------------------------------------------


@pytest.mark.parametrize("delta", [2**31, -(2**31) - 1])
def test_a_stock_change_outside_an_integer_is_a_400(company, admin_user, api_client_for, delta):
    level = StockLevelFactory(company=company, equipment=EquipmentFactory(company=company))
    response = api_client_for(admin_user).post(
        reverse("api:stocklevel-adjust", args=[level.pk]),
        {"delta": delta, "reason": "count"},
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert "delta" in error["fields"]


def test_a_stock_total_past_the_column_is_a_400(company, admin_user, api_client_for):
    level = StockLevelFactory(
        company=company, equipment=EquipmentFactory(company=company), on_hand=2**31 - 10
    )
    response = api_client_for(admin_user).post(
        reverse("api:stocklevel-adjust", args=[level.pk]),
        {"delta": 11, "reason": "receipt"},
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {"delta": ["At most 9 can be added."]}
    level.refresh_from_db()
    assert level.on_hand == 2**31 - 10


# Datetime filters -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2026-01-01T00:00:00-16:30", "2026-01-01T00:00:00+14:01", "0001-01-01T00:00:00+01:00"]
)
def test_a_moment_filter_outside_real_offsets_is_a_400(admin_user, api_client_for, value):
    response = api_client_for(admin_user).get(
        reverse("api:appointment-list"), {"starts_at_after": value}
    )
    error = assert_error(response, 400, "invalid")
    assert "starts_at_after" in error["fields"] or "starts_at" in error["fields"]


def test_a_moment_filter_with_a_real_offset_filters_in_utc(company, admin_user, api_client_for):
    appointment = AppointmentFactory(company=company)
    starts = appointment.starts_at.astimezone(
        __import__("datetime").timezone(__import__("datetime").timedelta(hours=-9, minutes=-30))
    )
    response = api_client_for(admin_user).get(
        reverse("api:appointment-list"), {"starts_at_after": starts.isoformat()}
    )
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [str(appointment.pk)]


# Request bodies ---------------------------------------------------------------------


def test_a_deeply_nested_body_is_a_400(admin_user, api_client_for):
    body = "[" * 1000 + "]" * 1000
    response = api_client_for(admin_user).post(
        reverse("api:location-list"), body, content_type="application/json"
    )
    error = assert_error(response, 400, "parse_error")
    assert "deeper than 32" in error["message"]


def test_a_body_nested_just_past_the_limit_is_a_400(admin_user, api_client_for):
    nested = {"name": "x"}
    for _ in range(32):
        nested = {"a": nested}
    response = api_client_for(admin_user).post(
        reverse("api:location-list"), json.dumps(nested), content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_an_oversized_json_body_is_a_413_in_the_error_shape(settings, admin_user, api_client_for):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client_for(admin_user).post(
        reverse("api:location-list"),
        json.dumps({"name": "x" * 2000}),
        content_type="application/json",
    )
    assert_error(response, 413, "too_large")


def test_an_oversized_form_body_is_a_413_in_the_error_shape(settings, admin_user, api_client_for):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client_for(admin_user).post(
        reverse("api:location-list"), {"name": "x" * 2000}, format="multipart"
    )
    assert_error(response, 413, "too_large")


# The admin ---------------------------------------------------------------------------


def test_the_admin_refuses_a_filter_on_the_encrypted_date_of_birth(admin_user):
    PatientFactory(company=admin_user.memberships.get().company)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.get(reverse("admin:clinical_patient_changelist"), {"dob__gte": "19"})
    assert response.status_code == 400
    assert b"1950" not in response.content


def test_the_admin_delete_page_of_a_record_in_use_is_not_a_500(company, admin_user):
    provider = ProviderFactory(company=company)
    AppointmentFactory(company=company, provider=provider)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    url = reverse("admin:clinical_provider_delete", args=[provider.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"post": "yes"}).status_code == 200
    assert provider.__class__.objects.filter(pk=provider.pk).exists()


# The committed schema says what the responses hold ----------------------------------


@pytest.fixture(scope="module")
def committed_schema():
    from pathlib import Path

    import yaml

    return yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


def test_the_schema_gives_times_as_drf_writes_them(committed_schema):
    import re

    window = committed_schema["components"]["schemas"]["Delivery"]["properties"]["window_start"]
    assert "format" not in window
    assert re.match(window["pattern"], "09:00:00")


def test_the_schema_lets_an_asset_with_a_patient_have_no_location(committed_schema):
    assert committed_schema["components"]["schemas"]["Asset"]["properties"]["location"]["nullable"]


def test_the_schema_allows_a_claim_with_no_denial_group(committed_schema):
    group = committed_schema["components"]["schemas"]["Claim"]["properties"]["denial_group"]
    refs = {choice["$ref"].rsplit("/", 1)[1] for choice in group["oneOf"]}
    assert "BlankEnum" in refs


@pytest.mark.parametrize("component", ["Delivery", "DeliveryDetail"])
def test_the_schema_allows_a_delivery_with_no_signer_yet(committed_schema, component):
    relationship = committed_schema["components"]["schemas"][component]["properties"][
        "signer_relationship"
    ]
    refs = {choice["$ref"].rsplit("/", 1)[1] for choice in relationship["oneOf"]}
    assert "BlankEnum" in refs


@pytest.mark.parametrize(
    "path", ["/api/v1/assets/{id}/maintenance/", "/api/v1/claims/from-delivery/"]
)
def test_the_schema_gives_the_201_these_posts_answer(committed_schema, path):
    responses = committed_schema["paths"][path]["post"]["responses"]
    assert "201" in responses
    assert "200" not in responses


def test_a_maintenance_entry_answers_the_201_the_schema_gives(company, admin_user, api_client_for):
    asset = AssetFactory(company=company)
    response = api_client_for(admin_user).post(
        reverse("api:asset-maintenance", args=[asset.pk]),
        {"kind": "cleaning", "work_done": "Wiped down"},
        format="json",
    )
    assert response.status_code == 201


def test_a_refused_delete_answers_the_400_the_schema_gives(
    company, admin_user, api_client_for, committed_schema
):
    operation = committed_schema["paths"]["/api/v1/order-lines/{id}/"]["delete"]
    assert "400" in operation["responses"]
    line = OrderLineFactory(company=company, order__status=OrderStatus.CONFIRMED)
    response = api_client_for(admin_user).delete(reverse("api:orderline-detail", args=[line.pk]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "order_locked"


def test_the_maintenance_log_is_the_plain_list_the_schema_says(
    company, admin_user, api_client_for, committed_schema
):
    operation = committed_schema["paths"]["/api/v1/assets/{id}/maintenance/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == (
        "array"
    )
    assert [p["name"] for p in operation["parameters"]] == ["id"]
    asset = AssetFactory(company=company)
    response = api_client_for(admin_user).get(reverse("api:asset-maintenance", args=[asset.pk]))
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_every_operation_documents_its_error_answers(committed_schema):
    for path_item in committed_schema["paths"].values():
        for method, operation in path_item.items():
            assert "401" in operation["responses"], (method, operation["operationId"])
            assert "404" in operation["responses"]
