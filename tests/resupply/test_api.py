"""The resupply API: the worklist scoped to the company (404 otherwise), the role
checks of its actions, constant query counts, the one error shape."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from resupply import services
from resupply.choices import RequestStatus
from resupply.models import ResupplyRequest
from tests.hme.factories import DeliveredLineFactory, DeliveredOrderFactory


def due_today_request(company, mask, filters, *, days_left=10):
    """A patient whose filters run out in ``days_left`` days (contact and ship open)."""
    today = timezone.localdate()
    order = DeliveredOrderFactory(
        company=company,
        delivered_on=today + datetime.timedelta(days=days_left) - datetime.timedelta(days=30),
        written_order_date=today - datetime.timedelta(days=60),
        prescriber_signed_on=today - datetime.timedelta(days=60),
    )
    # 1 filter of "2 per month" lasts 15 days; 2 last the month (30 or 31 days): use
    # the company's own rule of 2 per 30 days for an exact date.
    DeliveredLineFactory(order=order, equipment=filters, quantity=2)
    services.refresh_company(company, as_of=today)
    return ResupplyRequest.objects.get(patient=order.patient)


@pytest.fixture
def worklist(company):
    from tests.dme.factories import EquipmentFactory

    filters = EquipmentFactory(company=company, hcpcs_code="A7038", name="Disposable filter")
    mask = EquipmentFactory(company=company, hcpcs_code="A7030", name="Mask")
    return due_today_request(company, mask, filters)


def list_url():
    return reverse("api:resupplyrequest-list")


def detail(request, action=None):
    name = "api:resupplyrequest-detail" if action is None else f"api:resupplyrequest-{action}"
    return reverse(name, args=[request.pk])


@pytest.mark.django_db
def test_the_worklist_lists_only_its_company(worklist, personas, outsider, api_client_for):
    response = api_client_for(personas[Role.INTAKE]).get(list_url(), {"status": "open"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == str(worklist.pk)
    assert [item["hcpcs_code"] for item in row["items"]] == ["A7038"]
    assert api_client_for(outsider).get(list_url()).json()["results"] == []
    assert api_client_for(outsider).get(detail(worklist)).status_code == 404
    contact = {"channel": "phone", "outcome": "no_answer"}
    assert api_client_for(outsider).post(detail(worklist, "contact"), contact).status_code == 404
    assert api_client_for(outsider).post(detail(worklist, "order")).status_code == 404


@pytest.mark.django_db
def test_a_confirmation_then_the_order(worklist, personas, api_client_for):
    client = api_client_for(personas[Role.INTAKE])
    (item,) = worklist.items.all()
    response = client.post(
        detail(worklist, "contact"),
        {
            "channel": "phone",
            "outcome": "confirmed",
            "items": [{"item": str(item.pk), "on_hand": 0, "wanted": True, "quantity": 2}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "confirmed"
    response = client.post(detail(worklist, "order"))
    assert response.status_code == 201, response.content
    worklist.refresh_from_db()
    assert worklist.status == RequestStatus.ORDERED
    assert response.json()["order"] == str(worklist.order_id)
    # Twice: a 409 in the one error shape.
    again = client.post(detail(worklist, "order"))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_confirmed"


@pytest.mark.django_db
def test_an_order_without_confirmation_is_refused(worklist, personas, api_client_for):
    response = api_client_for(personas[Role.INTAKE]).post(detail(worklist, "order"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_confirmed"
    assert ResupplyRequest.objects.get(pk=worklist.pk).order_id is None


@pytest.mark.django_db
def test_a_bad_contact_is_a_400_beside_the_field(worklist, personas, api_client_for):
    client = api_client_for(personas[Role.INTAKE])
    response = client.post(detail(worklist, "contact"), {"channel": "pigeon", "outcome": "x"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"channel", "outcome"}
    (item,) = worklist.items.all()
    response = client.post(
        detail(worklist, "contact"),
        {
            "channel": "phone",
            "outcome": "confirmed",
            "items": [{"item": str(item.pk), "on_hand": 2, "wanted": True, "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_contact"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.WAREHOUSE, Role.AUDITOR, Role.CLINICIAN])
def test_roles_without_outreach_cannot_record_or_order(worklist, company, role, api_client_for):
    from tests.factories import member

    client = api_client_for(member(company, role, email=f"{role}@resupply.test"))
    contact = {"channel": "phone", "outcome": "no_answer"}
    assert client.post(detail(worklist, "contact"), contact).status_code == 403
    assert client.post(detail(worklist, "order")).status_code == 403
    worklist.refresh_from_db()
    assert worklist.attempts == 0


@pytest.mark.django_db
def test_the_list_query_count_does_not_grow(
    company, personas, api_client_for, django_assert_max_num_queries
):
    from tests.dme.factories import EquipmentFactory

    filters = EquipmentFactory(company=company, hcpcs_code="A7038", name="Disposable filter")
    mask = EquipmentFactory(company=company, hcpcs_code="A7030", name="Mask")
    client = api_client_for(personas[Role.INTAKE])
    due_today_request(company, mask, filters)
    with django_assert_max_num_queries(30) as one:
        assert len(client.get(list_url()).json()["results"]) == 1
    for _ in range(4):
        due_today_request(company, mask, filters)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get(list_url()).json()["results"]) == 5


@pytest.mark.django_db
def test_the_rules_show_the_defaults_and_only_the_companys_overrides(
    company, other_company, personas, api_client_for
):
    from resupply.models import ReplacementRule

    ReplacementRule.objects.create(
        company=other_company, hcpcs_code="A7030", description="Theirs", quantity=1, months=6
    )
    mine = ReplacementRule.objects.create(
        company=company, hcpcs_code="A7030", description="Ours", quantity=1, months=4
    )
    response = api_client_for(personas[Role.BILLING]).get(
        reverse("api:replacementrule-list"), {"hcpcs_code": "A7030"}
    )
    assert response.status_code == 200
    rows = {(row["company"], row["months"]) for row in response.json()["results"]}
    assert rows == {(None, 3), (str(company.pk), 4)}
    assert mine.pk
