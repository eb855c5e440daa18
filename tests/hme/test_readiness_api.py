"""Ready to bill in the API, the admin pages and the worklist: one function, the same
reasons everywhere; scoped (another company's order is a 404); constant queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from clinical.models import ICD10Code
from clinical.reference import invalidate_icd10
from core.quality import get_checks
from dme.choices import BillingKind
from dme.models import Delivery
from hme import services
from hme.models import BillingHold
from hme.readiness.holds import refresh_holds
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import CPAPFactory, EquipmentFactory
from tests.hme.factories import CoverageFactory, DeliveredLineFactory, DeliveredOrderFactory

DELIVERED = timezone.localdate() - datetime.timedelta(days=5)


def delivered_order(company, **fields):
    order = DeliveredOrderFactory(company=company, delivered_on=DELIVERED, **fields)
    DeliveredLineFactory(
        order=order,
        equipment=CPAPFactory(company=company, billing_kind=BillingKind.PURCHASE),
        unit_price=Decimal("850.00"),
    )
    DeliveredLineFactory(order=order, equipment=EquipmentFactory(company=company))
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient, code="G4733")
    return order


@pytest.fixture
def held(company):
    """A delivered order whose proof of delivery has no signer (on hold); the code
    table holds G47.33."""
    ICD10Code.objects.create(code="G4733", description="Obstructive sleep apnea", billable=True)
    order = delivered_order(company)
    Delivery.objects.filter(order=order).update(signer_name="")
    return order


def readiness_url(order):
    return f"/api/v1/orders/{order.pk}/readiness/"


def api_codes(body):
    return {
        line["line"]: sorted(reason["code"] for reason in line["reasons"]) for line in body["lines"]
    }


def test_the_readiness_endpoint_lists_each_lines_reasons(held, admin_user, api_client_for):
    response = api_client_for(admin_user).get(readiness_url(held))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "on_hold"
    assert body["errors"] == 2
    assert body["number"] == held.number
    reason = body["lines"][0]["reasons"][0]
    assert reason["code"] == "pod_signature"
    assert reason["severity"] == "error"
    assert (reason["model"], reason["field"]) == ("dme.delivery", "signer_name")
    Delivery.objects.filter(order=held).update(signer_name="Pat Example")
    body = api_client_for(admin_user).get(readiness_url(held)).json()
    assert body["status"] == "ready"
    assert body["errors"] == 0


def test_another_companys_order_is_a_404(held, outsider, api_client_for, anon_client):
    assert api_client_for(outsider).get(readiness_url(held)).status_code == 404
    assert anon_client.get(readiness_url(held)).status_code == 401


def test_the_orders_list_carries_a_summary_at_a_constant_query_count(
    company, held, admin_user, api_client_for
):
    client = api_client_for(admin_user)
    refresh_holds()  # the list reads the stored holds (refreshed after saves and daily)
    with CaptureQueriesContext(connection) as few:
        response = client.get("/api/v1/orders/")
    rows = {row["id"]: row["readiness"] for row in response.json()["results"]}
    assert rows[str(held.pk)] == {
        "status": "on_hold",
        "errors": 2,
        "warnings": 0,
        "codes": ["pod_signature"],
    }
    for _ in range(6):
        delivered_order(company)
    refresh_holds()
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/orders/")
    assert len(response.json()["results"]) == 7
    assert len(many) == len(few)
    retrieved = client.get(f"/api/v1/orders/{held.pk}/").json()
    assert retrieved["readiness"]["status"] == "on_hold"


def test_the_worklist_shows_the_same_reasons_as_the_api(
    held, company, admin_user, api_client_for, client
):
    ready = delivered_order(company)
    totals = refresh_holds()
    assert totals["lines"] == 4
    assert totals["held"] == 2
    client.force_login(admin_user)
    response = client.get(reverse("admin:hme_billableline_changelist"))
    assert response.status_code == 200
    worklist = {
        str(line.pk): sorted(hold.code for hold in line.holds)
        for line in response.context["cl"].result_list
    }
    api = {}
    for order in (held, ready):
        api.update(api_codes(api_client_for(admin_user).get(readiness_url(order)).json()))
    assert worklist == api
    assert b"has no signer" in response.content
    # Filtered by reason and by status.
    by_reason = client.get(reverse("admin:hme_billableline_changelist") + "?reason=pod_signature")
    assert {line.order_id for line in by_reason.context["cl"].result_list} == {held.pk}
    ready_only = client.get(reverse("admin:hme_billableline_changelist") + "?readiness=ready")
    assert {line.order_id for line in ready_only.context["cl"].result_list} == {ready.pk}


def test_the_worklist_is_scoped_and_constant_in_queries(
    held, company, outsider, admin_user, client
):
    refresh_holds()
    client.force_login(outsider)
    response = client.get(reverse("admin:hme_billableline_changelist"))
    assert list(response.context["cl"].result_list) == []
    client.force_login(admin_user)
    url = reverse("admin:hme_billableline_changelist")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        delivered_order(company)
    refresh_holds()
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 12
    assert len(many) == len(few)


def test_billed_lines_leave_the_worklist(held, company):
    refresh_holds()
    Delivery.objects.filter(order=held).update(signer_name="Pat Example")
    services.create_claim_for_delivery(held)
    refresh_holds()
    assert not BillingHold.objects.filter(order=held).exists()


def test_holds_refresh_after_a_save(held, django_capture_on_commit_callbacks):
    refresh_holds()
    assert BillingHold.objects.filter(order=held, code="pod_signature").count() == 2
    delivery = held.deliveries.get()
    delivery.signer_name = "Pat Example"
    with django_capture_on_commit_callbacks(execute=True):
        delivery.save()
    assert not BillingHold.objects.filter(order=held, code="pod_signature").exists()


@pytest.mark.parametrize("page", ["order", "delivery", "claim"])
def test_the_change_pages_show_the_panel(held, personas, client, page):
    client.force_login(personas[Role.ADMINISTRATOR])
    if page == "order":
        url = reverse("admin:dme_order_change", args=[held.pk])
    elif page == "delivery":
        url = reverse("admin:dme_delivery_change", args=[held.deliveries.get().pk])
    else:
        Delivery.objects.filter(order=held).update(signer_name="Pat Example")
        claim = services.create_claim_for_delivery(held)
        ICD10Code.objects.filter(code="G4733").update(billable=False)
        invalidate_icd10()  # a bulk update sends no signal (clinical.reference)
        url = reverse("admin:hme_claim_change", args=[claim.pk])
    response = client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Ready to bill / On hold" in content
    if page == "claim":
        assert "icd10_not_billable" in content
        fix = reverse("admin:clinical_diagnosis_change", args=[held.patient.diagnoses.get().pk])
    else:
        assert "pod_signature" in content
        assert "has no signer" in content
        fix = reverse("admin:dme_delivery_change", args=[held.deliveries.get().pk])
    assert f'href="{fix}#id_' in content


def test_data_quality_finds_a_hold_on_the_wrong_order(held, company):
    refresh_holds()
    other = delivered_order(company)
    BillingHold.objects.filter(order=held).update(order=other)
    (check,) = get_checks(["hme.billing_hold_has_reason"])
    assert check.function().count() == 2
    refresh_holds()
    assert check.function().count() == 0
