"""Resupply on the patient's admin page (clinical never imports this app): a panel of
the patient's supplies and their next eligible dates, the step "Refresh resupply"
and a link to the patient's requests. Installed by ``ResupplyConfig.ready``."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import run_service
from core.admin_buttons import Button, LinkButton
from core.admin_panels import Column, Panel, filtered_list, register_panel

from . import services
from .models import ResupplyItem


def refresh_resupply(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    run_service(modeladmin, request, queryset, services.refresh_patient, "patient(s) refreshed")


refresh_resupply.short_description = "Refresh resupply"  # type: ignore[attr-defined]
refresh_resupply.allowed_permissions = ("resupply",)  # type: ignore[attr-defined]


def _has_resupply_permission(self: Any, request: HttpRequest) -> bool:
    return bool(request.user.has_perm("resupply.change_resupplyrequest"))


# The patient's resupply requests (the list's patient filter is ``patient__id__exact``).
_requests_url = filtered_list("resupply_resupplyrequest", lookup="patient__id__exact")


def install_admin_hooks() -> None:
    from clinical.models import Patient

    register_panel(
        Panel(
            model="clinical.patient",
            key="resupply",
            title="Resupply: next eligible dates",
            rows=lambda request, patient: (
                ResupplyItem.objects.for_user(request.user)
                .filter(patient=patient)
                .select_related("equipment")
                .only("hcpcs_code", "equipment__name", "last_delivered_on", "supply_ends_on")
            ),
            columns=[
                Column("HCPCS", lambda item: item.hcpcs_code),
                Column("Item", lambda item: item.equipment.name),
                Column("Last delivered", lambda item: f"{item.last_delivered_on:%m/%d/%Y}"),
                Column("Next eligible", lambda item: f"{item.supply_ends_on:%m/%d/%Y}"),
            ],
            full_list=_requests_url,
            full_label="Resupply requests",
            permission="resupply.view_resupplyitem",
            order=70,
            empty="No PAP supplies delivered yet.",
        )
    )
    model_admin = admin.site._registry.get(Patient)
    if model_admin is None:
        return
    admin_class = type(model_admin)
    admin_class.refresh_resupply = refresh_resupply  # type: ignore[attr-defined]
    admin_class.has_resupply_permission = _has_resupply_permission  # type: ignore[attr-defined]
    actions = list(model_admin.actions or [])
    if "refresh_resupply" not in actions:
        model_admin.actions = [*actions, "refresh_resupply"]
    buttons = list(model_admin.change_buttons)  # type: ignore[attr-defined]
    if not any(getattr(button, "action", "") == "refresh_resupply" for button in buttons):
        model_admin.change_buttons = [  # type: ignore[attr-defined]
            *buttons,
            Button("refresh_resupply"),
            LinkButton(
                "Resupply requests",
                url=_requests_url,
                permission="resupply.view_resupplyrequest",
            ),
        ]
