"""The clerk's day in the browser, from the sign-in page on, by clicking only: register
a patient with coverage, order a CPAP and a mask, verify, confirm, schedule, complete
the delivery with a drawn signature, bill, submit, record the payer's approval, post the
payment; then each role's dashboard. No request may leave 127.0.0.1 (conftest)."""

import re
import time

import pytest
from django.utils import timezone

from accounts.choices import Role
from tests.clinical.factories import ProviderFactory
from tests.dme.factories import CPAPFactory, EquipmentFactory, WarehouseFactory, stock, units
from tests.factories import CompanyFactory, member
from tests.hme.factories import PayerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "browser-test-password-1"
# (seconds, selector) of each page opened by a click, for the summary at the end.
STEPS: list[tuple[float, str]] = []


def staff(company, role):
    user = member(company, role, email=f"{role}@browser.test")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def world():
    company = CompanyFactory(name="Browser DME")
    people = {role: staff(company, role) for role in Role}
    warehouse = WarehouseFactory(company=company, name="Main warehouse")
    cpap = CPAPFactory(company=company, name="AirSense 11 CPAP")
    mask = EquipmentFactory(company=company, name="AirFit F20 full face mask")
    units(cpap, warehouse, 1)
    stock(mask, warehouse, 5)
    return {
        "company": company,
        "people": people,
        "warehouse": warehouse,
        "prescriber": ProviderFactory(company=company, last_name="Welby"),
        "payer": PayerFactory(company=company, name="Medicare DME MAC B"),
    }


@pytest.fixture(autouse=True)
def step_times(page):
    """Where the walk's time went: printed after the test (shown with ``-rP``, and on
    failure)."""
    STEPS.clear()
    yield
    slowest = sorted(STEPS, reverse=True)[:5]
    print(
        f"{len(STEPS)} pages in {sum(t for t, _ in STEPS):.1f} s, {len(page.fetched)} requests "
        "to the server; slowest: " + "; ".join(f"{t:.1f} s {s}" for t, s in slowest)
    )


def sign_in(page, base, user):
    page.goto(f"{base}/admin/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    go(page, "input[type=submit]")
    page.wait_for_selector("#dashboards, #content-main")


def sign_out(page):
    go(page, "#logout-form button")


def pick(page, field_id, text, option=None):
    """Choose in an admin autocomplete (select2) by typing, as a clerk does."""
    page.click(f"#{field_id} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", text)
    page.click(f".select2-container--open .select2-results__option:has-text('{option or text}')")


def go(page, selector):
    """Click something that opens another page, and wait for that page (its time is
    kept: the slowest steps are printed at the end, shown when the test fails)."""
    started = time.monotonic()
    with page.expect_navigation():
        page.click(selector)
    STEPS.append((time.monotonic() - started, selector))


def click_step(page, label):
    go(page, f".change-buttons >> text={label}")


def message(page):
    return page.inner_text("ul.messagelist")


def test_the_clerks_day(page, live_server, world):
    base = live_server.url
    assert base.startswith("http://127.0.0.1:")
    today = timezone.localdate().isoformat()
    sign_in(page, base, world["people"][Role.ADMINISTRATOR])

    # Register the patient, with the diagnosis.
    go(page, "#content-main tr.model-patient a.addlink")
    page.fill("#id_first_name", "Ada")
    page.fill("#id_last_name", "Browserton")
    page.fill("#id_dob", "1948-03-04")
    page.fill("#id_address_line1", "12 Elm Street")
    page.fill("#id_city", "Columbus")
    page.fill("#id_state", "OH")
    page.fill("#id_postal_code", "43215")
    page.click("#diagnoses-group .add-row a")
    page.fill("input[name='diagnoses-0-code']", "G47.33")
    go(page, "input[name=_save]")
    assert "was added successfully" in message(page)

    # Her coverage.
    go(page, "#nav-sidebar tr.model-coverage a.addlink")
    pick(page, "id_patient", "Browserton")
    pick(page, "id_payer", "Medicare")
    page.fill("#id_member_id", "1EG4TE5MK73")
    page.fill("#id_effective_date", "2024-01-01")
    go(page, "input[name=_save]")
    assert "was added successfully" in message(page)

    # The order: a CPAP (rental) and a mask (purchase).
    go(page, "#nav-sidebar tr.model-order a.addlink")
    pick(page, "id_patient", "Browserton")
    pick(page, "id_prescriber", "Welby")
    page.select_option("#id_location", label="Main warehouse")
    page.fill("#id_written_order_date", today)
    page.fill("#id_prescriber_signed_on", today)
    pick(page, "id_lines-0-equipment", "cpap", "AirSense")
    page.select_option("#id_lines-0-kind", "rental")
    page.fill("#id_lines-0-modifiers", "RR, KH")
    page.click("#lines-group .add-row a")
    pick(page, "id_lines-1-equipment", "full face mask", "AirFit")
    page.select_option("#id_lines-1-kind", "purchase")
    page.fill("#id_lines-1-modifiers", "NU")
    go(page, "input[name=_continue]")
    assert "was added successfully" in message(page)

    # Verify, confirm, schedule: buttons on the order's page.
    click_step(page, "Verify")
    assert "1 order(s) verified." in message(page)
    click_step(page, "Confirm")
    assert "1 order(s) confirmed." in message(page)
    click_step(page, "Schedule delivery")
    page.fill("#id_scheduled_date", today)
    page.select_option("#id_driver", index=1)
    go(page, "input[type=submit].default")
    assert "1 delivery(ies) scheduled." in message(page)

    # The delivery, completed with a signature drawn on the pad.
    go(page, "#deliveries-group a:is(.inlinechangelink, .inlineviewlink)")
    click_step(page, "Record proof of delivery")
    page.fill("#id_signer_name", "Ada Browserton")
    page.select_option("#id_signer_relationship", "patient")
    box = page.locator("#signature-canvas").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 18, box["y"] + 40 + (step % 3) * 25)
    page.mouse.up()
    assert page.input_value("#id_signature_image").startswith("data:image/png;base64,")
    go(page, "input[type=submit].default")
    assert "delivered; proof of delivery recorded" in message(page)

    # Bill it: the "Bill this delivery" button on the delivery's page.
    go(page, "#content form button:has-text('Bill this delivery')")
    assert "Billed on claim(s) C-" in message(page)

    # To the claim through the patient's page (its Claims panel), then submit it.
    go(page, "#nav-sidebar tr.model-patient th a")
    go(page, "#result_list a:has-text('Browserton')")
    go(page, "#panel-claims tbody a")
    click_step(page, "Submit to the payer")
    assert "1 claim(s) submitted." in message(page)
    click_step(page, "Mark acknowledged")
    click_step(page, "Record approval")
    # The payer allows the whole charge (the field's maximum).
    allowed = page.locator("input[name^=allowed_]").first
    amount = allowed.get_attribute("max")
    allowed.fill(amount)
    go(page, "input[type=submit].default")
    assert "1 claim(s) approved." in message(page)
    claim_number = re.search(r"C-\d+", page.inner_text("#content")).group(0)

    # Post the payment from the claim's page.
    click_step(page, "Post a payment")
    page.select_option("#id_method", "eft")
    page.fill("#id_number", "EFT0001")
    page.fill("#id_paid_date", today)
    page.fill("#id_amount", amount)
    pick(page, "id_allocations-2-0-claim", claim_number)
    page.fill("input[name='allocations-2-0-amount']", amount)
    go(page, "input[name=_save]")
    assert "was added successfully" in message(page)

    # Each role's dashboard.
    go(page, "#site-name a")
    assert page.locator("#dashboard-kpis").is_visible()
    for role, dashboard in (
        (Role.INTAKE, "intake"),
        (Role.WAREHOUSE, "warehouse"),
        (Role.BILLING, "billing"),
    ):
        sign_out(page)
        go(page, "a:has-text('Log in again')")
        page.fill("#id_username", world["people"][role].email)
        page.fill("#id_password", PASSWORD)
        go(page, "input[type=submit]")
        assert page.locator(f"#dashboard-{dashboard}").is_visible()
