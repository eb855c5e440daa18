"""DME admin, the rentals: started by deliveries, counted by billing, ended by the
"Record return" action through ``dme.services``."""

from django.contrib import admin

from accounts.tenancy import signed_in_user
from clinical.admin_search import PatientLinkedSearchMixin
from core.admin import TenantAdmin
from core.admin_actions import FormAction
from core.admin_buttons import Button, ChangeButtonsMixin, can_become

from .. import forms, services
from ..choices import BillingKind, RentalStatus
from ..models import Rental
from ..transitions import RENTAL_TRANSITIONS

RENTAL_FIELDS = (
    "patient",
    "order",
    "order_line",
    "equipment",
    "asset",
    "quantity",
    "start_date",
    "monthly_fee",
    "months_billed",
    "cap_months",
    "status",
    "capped_on",
    "returned_on",
    "end_date",
    "picked_up_by",
    "return_location",
    "return_notes",
)


@admin.register(Rental)
class RentalAdmin(ChangeButtonsMixin, PatientLinkedSearchMixin, TenantAdmin):
    """Rentals start when deliveries complete; billing counts their months. Staff
    record pickups with the "Record return" action."""

    list_display = [
        "equipment",
        "asset",
        "patient",
        "start_date",
        "months_billed",
        "cap_months",
        "status",
        "end_date",
    ]
    list_filter = ["status", "equipment__category", "start_date"]
    list_select_related = ["equipment", "asset", "patient"]
    fields = RENTAL_FIELDS
    readonly_fields = [name for name in RENTAL_FIELDS if name != "return_notes"]
    actions = ["record_return"]
    change_buttons = [
        # A capped rental is picked up only when it is oxygen (the supplier still owns it).
        Button(
            "record_return",
            when=can_become(
                RENTAL_TRANSITIONS,
                RentalStatus.RETURNED,
                also=lambda rental: (
                    rental.status == RentalStatus.ACTIVE
                    or rental.equipment.billing_kind == BillingKind.OXYGEN_RENTAL
                ),
            ),
        ),
    ]

    def has_add_permission(self, request):
        return False  # Rentals start when a delivery is completed.

    def has_delete_permission(self, request, obj=None):
        return False

    record_return = FormAction(
        description="Record return (pickup)",
        form_class=forms.RentalReturnForm,
        form_kwargs=lambda request, rentals: {"user": request.user},
        service=lambda rental, data, request: services.return_rental(
            rental,
            returned_on=data["returned_on"],
            location=data["location"],
            picked_up_by=data["picked_up_by"] or signed_in_user(request),
            notes=data["notes"],
        ),
        done="rental(s) returned",
        title="Record returns",
        select_related=["equipment", "asset"],
    )
