"""DME admin, the rentals: started by deliveries, counted by billing, ended by the
"Record return" action through ``dme.services``."""

from django.contrib import admin

from accounts.tenancy import signed_in_user
from clinical.admin_search import PatientLinkedSearchMixin
from core.admin import ReadOnlyAdminMixin, TenantAdmin, TenantInlineMixin
from core.admin_actions import FormAction
from core.admin_buttons import Button, ChangeButtonsMixin, can_become

from .. import forms, services
from ..choices import BillingKind, RentalStatus
from ..models import Rental, RentalMonth
from ..queues import PICKUP_REASONS, pickups_due
from ..transitions import RENTAL_TRANSITIONS
from .tools import ObjectToolsMixin

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
    "next_bill_date",
    "continues",
    "new_medical_need_on",
)


class RentalMonthInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    """The months recorded (what billing bills), read-only."""

    model = RentalMonth
    extra = 0
    fields = ("sequence", "period", "number", "date_of_service", "paid")
    readonly_fields = fields
    ordering = ["sequence"]
    verbose_name_plural = "months recorded"


class PickupDueFilter(admin.SimpleListFilter):
    """Rentals to pick up (``dme.queues.pickups_due``): the warehouse dashboard's
    "Pickups due" lines link here."""

    title = "pickup due"
    parameter_name = "pickup"

    def lookups(self, request, model_admin):
        return [(value, label) for value, _status, label in PICKUP_REASONS]

    def queryset(self, request, queryset):
        if self.value() in {value for value, _status, _label in PICKUP_REASONS}:
            return pickups_due(queryset, self.value())
        return queryset


@admin.register(Rental)
class RentalAdmin(ObjectToolsMixin, ChangeButtonsMixin, PatientLinkedSearchMixin, TenantAdmin):
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
    list_filter = ["status", PickupDueFilter, "equipment__category", "start_date"]
    list_select_related = ["equipment", "asset", "patient"]
    fields = RENTAL_FIELDS
    readonly_fields = [name for name in RENTAL_FIELDS if name != "return_notes"]
    actions = ["record_return", "record_new_medical_need"]
    inlines = [RentalMonthInline]
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

    record_new_medical_need = FormAction(
        description="Record new medical need (new order after a break)",
        form_class=forms.NewMedicalNeedForm,
        service=lambda rental, data, request: services.record_new_medical_need(
            rental, data["documented_on"]
        ),
        done="rental(s) updated",
        title="Record a new medical need",
        intro="After a break in use longer than 60 days plus the rest of the rental month, "
        "a restarted rental starts a new rental period only with a new order documenting "
        "a new medical need (42 CFR 414.230). Give the date of that order.",
        select_related=["equipment", "asset"],
    )

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
