"""Billing from DME's admin pages: "Bill this delivery" on orders and deliveries, "Bill
this rental month" on rentals, as list actions and as change-page buttons.

DME cannot import billing (``hme`` sits above it), so this module adds them to DME's
registered ModelAdmins: each gets an action (``run_service``) and a change-page button
(``dme.admin.tools.ObjectToolsMixin``) posting to a view registered here. Actions,
buttons and the API (``POST /claims/from-delivery/``) call the same services
(``hme.services.bill_delivery``, ``hme.services.bill_rental``). Billing needs the
``hme.add_claim`` permission (Billing, Administrator); the record is fetched through
the DME admin's tenant-scoped queryset, so another company's record is a 404.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from core.admin import run_service
from core.exceptions import ServiceError
from dme.choices import DeliveryStatus, OrderStatus, RentalStatus
from dme.models import Delivery, Order, Rental

from .. import services

BILL_PERMISSION = "hme.add_claim"


def may_bill(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(BILL_PERMISSION))


def _bill_order(order: Order) -> list[Any]:
    return services.bill_delivery(order)


def _bill_delivery(delivery: Delivery) -> list[Any]:
    return services.bill_delivery(delivery.order)


def _bill_rental(rental: Rental) -> list[Any]:
    return services.bill_rental(rental)


# When the button is offered: the record's own status, read without a query (the
# service still refuses, with its reason, what is already billed).
SHOWN: dict[type[Model], Any] = {
    Order: lambda order: order.delivered_on is not None and order.status != OrderStatus.CANCELLED,
    Delivery: lambda delivery: delivery.status == DeliveryStatus.DELIVERED,
    Rental: lambda rental: rental.status == RentalStatus.ACTIVE,
}

# (model, service, label, url name, done)
TOOLS: list[tuple[type[Model], Any, str, str, str]] = [
    (Order, _bill_order, "Bill this delivery", "hme_bill_order", "order(s) billed"),
    (Delivery, _bill_delivery, "Bill this delivery", "hme_bill_delivery", "delivery(ies) billed"),
    (Rental, _bill_rental, "Bill this rental month", "hme_bill_rental", "rental(s) billed"),
]


def _action(service: Any, label: str, done: str) -> Any:
    def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        if not may_bill(request):
            raise PermissionDenied
        run_service(modeladmin, request, queryset, service, done)

    action.__name__ = f"bill_{label.split()[-1].lower()}"
    action.short_description = label  # type: ignore[attr-defined]
    action.allowed_permissions = ("bill",)  # type: ignore[attr-defined]
    return action


def _provider(model: type[Model], label: str, url_name: str) -> Any:
    def provider(request: HttpRequest, obj: Model) -> list[tuple[str, str]]:
        if not may_bill(request) or not SHOWN[model](obj):
            return []
        return [(label, reverse(f"admin:{url_name}", args=[obj.pk]))]

    return provider


def bill_view(model: type[Model], service: Any) -> Any:
    """The change-page button's POST: bill the record, back to its page with the
    outcome as a message."""

    @require_POST
    def view(request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        model_admin = admin.site.get_model_admin(model)
        obj = model_admin.get_object(request, object_id)
        if obj is None:
            raise Http404
        if not may_bill(request):
            raise PermissionDenied
        opts = model._meta
        try:
            claims = service(obj)
        except ServiceError as error:
            model_admin.message_user(request, error.message, messages.ERROR)
        else:
            numbers = ", ".join(claim.number for claim in claims)
            model_admin.message_user(request, f"Billed on claim(s) {numbers}.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )

    return view


def billing_urls() -> list[Any]:
    """The buttons' views, mounted under the claims admin (``ClaimAdmin.get_urls``)."""
    return [
        path(
            f"bill/{model._meta.model_name}/<uuid:object_id>/",
            admin.site.admin_view(bill_view(model, service)),
            name=url_name,
        )
        for model, service, _label, url_name, _done in TOOLS
    ]


def install() -> None:
    """Add the actions and buttons to DME's registered ModelAdmins (once)."""
    for model, service, label, url_name, done in TOOLS:
        model_admin: Any = admin.site.get_model_admin(model)
        if getattr(model_admin, "_billing_installed", False):
            continue
        model_admin.actions = [*(model_admin.actions or []), _action(service, label, done)]
        model_admin.has_bill_permission = may_bill
        model_admin.object_tools = [*model_admin.object_tools, _provider(model, label, url_name)]
        model_admin._billing_installed = True


install()
