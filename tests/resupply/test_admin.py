"""The resupply admin: the worklist and its steps, the patient page's panel and
"Refresh resupply" step, scoped to the company, by role."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from resupply.choices import RequestStatus
from resupply.models import ReplacementRule, ResupplyItem, ResupplyRequest

from .test_api import due_today_request


@pytest.fixture
def worklist(company):
    from tests.dme.factories import EquipmentFactory

    filters = EquipmentFactory(company=company, hcpcs_code="A7038", name="Disposable filter")
    mask = EquipmentFactory(company=company, hcpcs_code="A7030", name="Mask")
    return due_today_request(company, mask, filters)


@pytest.mark.django_db
def test_the_worklist_changelist_is_scoped(client, worklist, personas, outsider):
    url = reverse("admin:resupply_resupplyrequest_changelist")
    client.force_login(personas[Role.INTAKE])
    page = client.get(url, {"status__exact": "open"})
    assert page.status_code == 200
    assert (
        worklist.patient.number in page.content.decode()
        or str(worklist.patient) in page.content.decode()
    )
    change = reverse("admin:resupply_resupplyrequest_change", args=[worklist.pk])
    assert client.get(change).status_code == 200
    client.force_login(outsider)
    assert str(worklist.patient) not in client.get(url).content.decode()
    assert client.get(change).status_code in (302, 404)


@pytest.mark.django_db
def test_the_changelist_query_count_does_not_grow(
    client, company, personas, django_assert_max_num_queries
):
    from tests.dme.factories import EquipmentFactory

    filters = EquipmentFactory(company=company, hcpcs_code="A7038", name="Disposable filter")
    mask = EquipmentFactory(company=company, hcpcs_code="A7030", name="Mask")
    due_today_request(company, mask, filters)
    client.force_login(personas[Role.INTAKE])
    url = reverse("admin:resupply_resupplyrequest_changelist")
    with django_assert_max_num_queries(60) as one:
        assert client.get(url).status_code == 200
    for _ in range(4):
        due_today_request(company, mask, filters)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_recording_a_confirmation_and_ordering_from_the_buttons(client, worklist, personas):
    client.force_login(personas[Role.INTAKE])
    (item,) = worklist.items.all()
    step = reverse("admin:resupply_resupplyrequest_step", args=[worklist.pk, "record_contact"])
    form = client.get(step)
    assert form.status_code == 200
    assert f"on_hand_{item.pk}" in form.content.decode()
    done = client.post(
        step,
        {
            "apply": "1",
            "action": "record_contact",
            "_selected_action": [str(worklist.pk)],
            "channel": "phone",
            "outcome": "confirmed",
            f"on_hand_{item.pk}": "0",
            f"wanted_{item.pk}": "on",
            f"quantity_{item.pk}": "2",
        },
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    worklist.refresh_from_db()
    assert worklist.status == RequestStatus.CONFIRMED
    contact = worklist.contacts.get()
    assert contact.contacted_by == personas[Role.INTAKE]
    order_step = reverse("admin:resupply_resupplyrequest_step", args=[worklist.pk, "make_order"])
    assert client.post(order_step).status_code == 302
    worklist.refresh_from_db()
    assert worklist.status == RequestStatus.ORDERED
    assert worklist.order_id


@pytest.mark.django_db
def test_a_warehouse_user_has_no_outreach_steps(client, worklist, company):
    from tests.factories import member

    client.force_login(member(company, Role.WAREHOUSE, email="wh@a.test"))
    change = reverse("admin:resupply_resupplyrequest_change", args=[worklist.pk])
    assert client.get(change).status_code == 403
    step = reverse("admin:resupply_resupplyrequest_step", args=[worklist.pk, "record_contact"])
    assert client.post(step, {"channel": "phone", "outcome": "no_answer"}).status_code == 403
    worklist.refresh_from_db()
    assert worklist.attempts == 0


@pytest.mark.django_db
def test_the_patient_page_shows_the_resupply_panel_and_step(client, worklist, personas):
    client.force_login(personas[Role.INTAKE])
    patient = worklist.patient
    ResupplyItem.objects.filter(patient=patient).delete()
    page = client.get(reverse("admin:clinical_patient_change", args=[patient.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Resupply: next eligible dates" in content
    assert "Refresh resupply" in content
    step = reverse("admin:clinical_patient_step", args=[patient.pk, "refresh_resupply"])
    assert client.post(step).status_code == 302
    item = ResupplyItem.objects.get(patient=patient)
    page = client.get(reverse("admin:clinical_patient_change", args=[patient.pk]))
    assert f"{item.supply_ends_on:%m/%d/%Y}" in page.content.decode()


@pytest.mark.django_db
def test_the_refresh_step_needs_the_resupply_permission(client, worklist, company):
    from tests.factories import member

    patient = worklist.patient
    client.force_login(member(company, Role.CLINICIAN, email="cl@a.test"))
    page = client.get(reverse("admin:clinical_patient_change", args=[patient.pk]))
    assert "Refresh resupply" not in page.content.decode()
    step = reverse("admin:clinical_patient_step", args=[patient.pk, "refresh_resupply"])
    assert client.post(step).status_code == 403


@pytest.mark.django_db
def test_global_rules_are_read_only_and_an_override_takes_the_company(client, company, personas):
    client.force_login(personas[Role.BILLING])
    default = ReplacementRule.objects.get(company=None, payer=None, hcpcs_code="A7030")
    change = reverse("admin:resupply_replacementrule_change", args=[default.pk])
    page = client.get(change)
    assert page.status_code == 200
    client.post(change, {"hcpcs_code": "A7030", "description": "x", "quantity": 9, "months": 1})
    default.refresh_from_db()
    assert default.quantity == 1
    added = client.post(
        reverse("admin:resupply_replacementrule_add"),
        {
            "hcpcs_code": "A7030",
            "description": "Full face mask",
            "quantity": "1",
            "months": "4",
            "source": "Our contract",
            "is_active": "on",
        },
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    rule = ReplacementRule.objects.get(company=company, hcpcs_code="A7030")
    assert rule.months == 4


@pytest.mark.django_db
def test_the_daily_task_refreshes_every_company(company, worklist):
    from resupply.tasks import refresh_worklist

    ResupplyRequest.objects.all().delete()
    result = refresh_worklist.delay().get()
    assert result["opened"] == 1
    assert result["failed"] == 0
    assert ResupplyRequest.objects.filter(company=company).count() == 1
    assert timezone.localdate() >= ResupplyRequest.objects.get().contact_from - datetime.timedelta(
        0
    )
