"""One billing path: every claim line bills a delivered order line or a rental month,
once per payer sequence, whichever path tries (admin, API, rental run); duplicates are
refused as CO-18; a replaced claim's lines no longer count."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core.exceptions import Conflict, ServiceError
from dme.choices import BillingKind, LineKind
from dme.models import RentalMonth
from hme import services
from hme.choices import ClaimStatus
from hme.models import Claim, ClaimLine
from hme.rules import month_date_of_service
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import CPAPFactory, EquipmentFactory, RentalFactory
from tests.hme.factories import (
    ClaimFactory,
    CoverageFactory,
    DeliveredLineFactory,
    DeliveredOrderFactory,
    claim_line,
)

DELIVERED = timezone.localdate() - datetime.timedelta(days=70)


@pytest.fixture
def biller(personas):
    return personas[Role.BILLING]


@pytest.fixture
def delivered(company):
    """The clerk's delivery: a CPAP rented (capped rental) and a mask bought."""
    order = DeliveredOrderFactory(company=company, delivered_on=DELIVERED)
    mask = DeliveredLineFactory(
        order=order, equipment=EquipmentFactory(company=company), unit_price=Decimal("165.17")
    )
    cpap_line = DeliveredLineFactory(
        order=order,
        kind=LineKind.RENTAL,
        modifiers=["RR"],
        equipment=CPAPFactory(company=company, is_serialized=False),
    )
    rental = RentalFactory(
        company=company,
        order_line=cpap_line,
        start_date=DELIVERED,
        monthly_fee=Decimal("85.00"),
    )
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient, code="G4733")
    return order, mask, rental


def billed_lines(order, rental):
    purchase = ClaimLine.objects.filter(order_line__order=order, live=True)
    months = ClaimLine.objects.filter(rental_month__rental=rental, live=True)
    return purchase, months


def test_the_clerks_walk_bills_each_item_and_month_once(client, api_client_for, biller, delivered):
    order, mask, rental = delivered
    # 1. The clerk bills the delivery from the order's admin page (the button's POST).
    client.force_login(biller)
    response = client.post(reverse("admin:hme_bill_order", args=[order.pk]), follow=True)
    assert response.status_code == 200
    assert any("Billed on claim(s)" in str(m) for m in response.context["messages"])
    # 2. The API's from-delivery tries the mask again: 409, nothing written.
    api = api_client_for(biller)
    response = api.post(reverse("api:claim-from-delivery"), {"order": str(order.pk)}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "already_billed"
    # 3. The admin action on the delivery list and the rental run go again.
    client.post(
        reverse("admin:dme_order_changelist"),
        {"action": "bill_delivery", ACTION_CHECKBOX_NAME: [str(order.pk)]},
        follow=True,
    )
    as_of = month_date_of_service(DELIVERED, 3)
    run = services.bill_rental_months(as_of=as_of)
    assert not run.errors
    services.bill_rental_months(as_of=as_of)
    purchase, months = billed_lines(order, rental)
    assert list(purchase.values_list("order_line", flat=True)) == [mask.pk]
    numbers = sorted(months.values_list("rental_month__number", flat=True))
    assert numbers == [1, 2, 3]
    assert RentalMonth.objects.filter(rental=rental).count() == 3
    # One claim line per billed item and month, whatever path.
    assert ClaimLine.objects.filter(claim__patient=order.patient).count() == 4


def test_a_hand_entered_line_pointing_at_nothing_is_refused(company, delivered):
    order, _mask, _rental = delivered
    claim = services.create_claim_for_delivery(order)
    line = {**claim_line(), "order_line": None}
    with pytest.raises(ServiceError) as refused:
        services.update_claim(claim, lines=[line])
    assert refused.value.code == "line_bills_nothing"
    assert claim.lines.count() == 1
    with pytest.raises(ServiceError, match="bills nothing"):
        services.create_claim(
            company=company,
            patient=claim.patient,
            coverage=claim.coverage,
            billing_location=claim.billing_location,
            diagnosis_codes=["G4733"],
            lines=[claim_line()],
        )


def test_the_database_refuses_a_line_pointing_at_nothing(company, delivered):
    order, _mask, _rental = delivered
    claim = services.create_claim_for_delivery(order)
    line = claim.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimLine.objects.filter(pk=line.pk).update(order_line=None)


def test_the_database_refuses_an_order_line_billed_twice_to_one_payer(company, delivered):
    order, mask, _rental = delivered
    claim = services.create_claim_for_delivery(order)
    copy = claim.lines.get()
    copy.pk, copy.line_number = None, 2
    copy._state.adding = True
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()
    # A voided claim's lines no longer count: the item may be billed again.
    services.void_claim(claim, "Wrong coverage")
    again = services.create_claim_for_delivery(order)
    assert again.lines.get().order_line == mask


def test_the_admin_change_page_shows_the_bill_buttons(client, biller, delivered):
    order, _mask, rental = delivered
    client.force_login(biller)
    page = client.get(reverse("admin:dme_order_change", args=[order.pk])).content.decode()
    assert reverse("admin:hme_bill_order", args=[order.pk]) in page
    assert "Bill this delivery" in page
    page = client.get(reverse("admin:dme_rental_change", args=[rental.pk])).content.decode()
    assert "Bill this rental month" in page


def test_the_rental_button_bills_the_months_due(client, biller, delivered):
    _order, _mask, rental = delivered
    client.force_login(biller)
    client.post(reverse("admin:hme_bill_rental", args=[rental.pk]))
    numbers = ClaimLine.objects.filter(rental_month__rental=rental).values_list(
        "rental_month__number", flat=True
    )
    # Delivered 70 days ago: months 1, 2 and 3 are due (3 when 70 days reach it).
    due = [n for n in range(1, 5) if month_date_of_service(DELIVERED, n) <= timezone.localdate()]
    assert sorted(numbers) == due
    response = client.post(reverse("admin:hme_bill_rental", args=[rental.pk]), follow=True)
    assert any("Nothing to bill" in str(m) for m in response.context["messages"])


def test_billing_from_the_admin_needs_the_billing_permission(client, personas, delivered):
    order, _mask, _rental = delivered
    client.force_login(personas[Role.WAREHOUSE])
    response = client.post(reverse("admin:hme_bill_order", args=[order.pk]))
    assert response.status_code == 403
    page = client.get(reverse("admin:dme_order_change", args=[order.pk])).content.decode()
    assert "Bill this delivery" not in page
    assert not Claim.objects.exists()


def test_another_companys_order_or_rental_is_a_404(client, outsider, delivered):
    order, _mask, rental = delivered
    client.force_login(outsider)
    assert client.post(reverse("admin:hme_bill_order", args=[order.pk])).status_code == 404
    assert client.post(reverse("admin:hme_bill_rental", args=[rental.pk])).status_code == 404
    assert not Claim.objects.exists()


def test_the_admin_has_no_add_claim(client, biller):
    client.force_login(biller)
    assert client.get(reverse("admin:hme_claim_add")).status_code == 403


def test_the_api_refuses_a_typed_claim(api_client_for, biller, company):
    response = api_client_for(biller).post(reverse("api:claim-list"), {}, format="json")
    assert response.status_code == 405
    assert "not entered by hand" in response.json()["error"]["message"]


def test_the_api_bills_a_rental_and_hides_another_companys(
    api_client_for, biller, outsider, delivered
):
    _order, _mask, rental = delivered
    url = reverse("api:claim-from-rental")
    assert api_client_for(outsider).post(url, {"rental": str(rental.pk)}).status_code == 400
    response = api_client_for(biller).post(url, {"rental": str(rental.pk)}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()[0]["rental_month"] == 1
    again = api_client_for(biller).post(url, {"rental": str(rental.pk)}, format="json")
    assert again.status_code == 409


def test_a_patch_keeps_what_each_line_bills_and_refuses_a_new_line(
    api_client_for, biller, delivered
):
    order, mask, _rental = delivered
    claim = services.create_claim_for_delivery(order)
    line = claim.lines.get()
    url = reverse("api:claim-detail", args=[claim.pk])
    body = {
        "id": str(line.pk),
        "date_of_service": str(line.date_of_service),
        "hcpcs": line.hcpcs,
        "modifiers": [],
        "units": 1,
        "charge": "150.00",
        "diagnosis_pointers": [1],
    }
    api = api_client_for(biller)
    response = api.patch(url, {"lines": [body]}, format="json")
    assert response.status_code == 200, response.content
    assert claim.lines.get().order_line == mask
    new = {**body, "hcpcs": "A7034"}
    new.pop("id")
    response = api.patch(url, {"lines": [body, new]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "line_bills_nothing"
    assert claim.lines.count() == 1


# Duplicates across paths (CO-18) ----------------------------------------------------------


def test_the_same_service_on_a_second_live_claim_is_refused_as_co_18(company):
    coverage = CoverageFactory(company=company)
    first = ClaimFactory(company=company, coverage=coverage)
    with pytest.raises(Conflict) as refused:
        ClaimFactory(company=company, coverage=coverage)
    assert refused.value.code == "duplicate_service"
    assert "CO-18" in refused.value.message
    assert first.number in refused.value.message
    # Another modifier (used, UE) is another service.
    ClaimFactory(company=company, coverage=coverage, lines=[claim_line(modifiers=["UE"])])


# Replacement claims --------------------------------------------------------------------------


def test_a_replacement_claim_voids_the_original_and_bills_the_same_items(company, delivered):
    order, mask, _rental = delivered
    claim = services.create_claim_for_delivery(order)
    services.submit_claim(claim)
    services.mark_processing(claim)
    services.deny_claim(claim, "CO", "16")
    replacement = services.replace_claim(claim, "Added the KX modifier")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.VOID
    assert replacement.number in claim.void_reason
    assert replacement.replaces == claim
    assert replacement.status == ClaimStatus.PENDING
    assert replacement.lines.get().order_line == mask
    assert not claim.lines.get().live
    assert ClaimLine.objects.filter(order_line=mask, live=True).count() == 1


def test_a_pending_claim_is_corrected_not_replaced(delivered):
    order, _mask, _rental = delivered
    claim = services.create_claim_for_delivery(order)
    with pytest.raises(ServiceError) as refused:
        services.replace_claim(claim, "Fix")
    assert refused.value.code == "not_replaceable"


def test_a_replacement_through_the_api(api_client_for, biller, outsider, delivered):
    order, _mask, _rental = delivered
    claim = services.create_claim_for_delivery(order)
    services.submit_claim(claim)
    services.mark_processing(claim)
    url = reverse("api:claim-replace", args=[claim.pk])
    assert api_client_for(outsider).post(url, {"reason": "x"}).status_code == 404
    response = api_client_for(biller).post(url, {"reason": "New NPI"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["replaces"] == str(claim.pk)


def test_billing_kind_purchase_keeps_its_claim_when_an_order_has_no_rental(company):
    order = DeliveredOrderFactory(company=company, delivered_on=DELIVERED)
    DeliveredLineFactory(
        order=order, equipment=CPAPFactory(company=company, billing_kind=BillingKind.PURCHASE)
    )
    CoverageFactory(company=company, patient=order.patient)
    DiagnosisFactory(company=company, patient=order.patient, code="G4733")
    claims = services.bill_delivery(order)
    assert len(claims) == 1
    with pytest.raises(Conflict):
        services.bill_delivery(order)


def test_the_bill_buttons_show_only_once_delivered_or_renting(client, biller, delivered):
    order, _mask, rental = delivered
    client.force_login(biller)
    order.delivered_on, order.status = None, "scheduled"
    order.save(update_fields=["delivered_on", "status"])
    page = client.get(reverse("admin:dme_order_change", args=[order.pk])).content.decode()
    assert reverse("admin:hme_bill_order", args=[order.pk]) not in page
    rental.status, rental.end_date = "capped", DELIVERED + datetime.timedelta(days=400)
    rental.save(update_fields=["status", "end_date"])
    page = client.get(reverse("admin:dme_rental_change", args=[rental.pk])).content.decode()
    assert reverse("admin:hme_bill_rental", args=[rental.pk]) not in page
