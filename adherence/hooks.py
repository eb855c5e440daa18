"""What adherence adds to the floors below it (which never import it): hme's readiness
check and rental-month modifier hook, and the patient page's panels."""

import uuid
from collections.abc import Iterator
from typing import Any

from . import rules
from .choices import AdherenceState

READINESS_CODE = "pap_adherence_not_met"
NO_DATA_CODE = "pap_adherence_no_data"


def _pap_rental_months(batch: Any) -> list[tuple[Any, Any, int]]:
    """(line, rental, month) of each PAP rental line of the batch billing month 4 or
    later on its date of service."""
    from dme.choices import LineKind, RentalStatus

    found = []
    for line in batch.lines:
        if line.kind != LineKind.RENTAL or not rules.is_pap_device(line.equipment.hcpcs_code):
            continue
        day = batch.dates.get(line.pk)
        if day is None:
            continue
        for rental in batch.rentals.get(line.pk, []):
            if rental.status == RentalStatus.RETURNED:
                continue
            month = rules.rental_month_of(rental.start_date, day)
            if month >= rules.KX_FROM_MONTH:
                found.append((line, rental, month))
    return found


def adherence_readiness(batch: Any) -> Iterator[tuple[uuid.UUID, Any]]:
    """PAP rental months 4 and later bill with KX only when the adherence rule is met
    (LCD L33718; policy article A52467). Not met (usage imported, rule failed or not yet
    satisfied): an error, the month is held. No usage imported at all: a warning (the
    month bills without KX, and the payer will deny it without the usage on file)."""
    from hme.readiness.base import Fix, error, warning

    from .models import AdherenceStatus

    months = _pap_rental_months(batch)
    if not months:
        return
    if "adherence" not in batch.extra:
        batch.extra["adherence"] = dict(
            AdherenceStatus.objects.filter(rental_id__in={r.pk for _, r, _ in months}).values_list(
                "rental_id", "state"
            )
        )
    states = batch.extra["adherence"]
    for line, rental, month in months:
        state = states.get(rental.pk)
        fix = Fix("dme.rental", rental.pk, "")
        if state is None:
            yield (
                line.pk,
                warning(
                    NO_DATA_CODE,
                    f"Rental month {month} of {line.equipment.hcpcs_code}: no device usage is "
                    "imported, so adherence is not documented and KX is left off. Import the "
                    "device's usage export.",
                    fix,
                    rules.SOURCE,
                ),
            )
        elif state != AdherenceState.MET:
            yield (
                line.pk,
                error(
                    READINESS_CODE,
                    f"Rental month {month} of {line.equipment.hcpcs_code}: adherence is not met "
                    "(>= 4 h on 21 of 30 consecutive nights in the first 90 days), so KX "
                    "cannot be billed. Re-evaluate the patient before billing month 4 on.",
                    fix,
                    rules.SOURCE,
                ),
            )


def rental_modifiers(rental: Any, number: int, modifiers: list[str]) -> list[str]:
    """hme's rental-month modifier hook: KX on PAP months 4 on when adherence is met,
    never when it is not (the order line's KX attests only the first three months)."""
    if number < rules.KX_FROM_MONTH or not rules.is_pap_device(rental.equipment.hcpcs_code):
        return modifiers
    from hme.readiness.rules import NOT_WITH_KX

    from .models import AdherenceStatus

    met = AdherenceStatus.objects.filter(rental_id=rental.pk, state=AdherenceState.MET).exists()
    without = [m for m in modifiers if m != "KX"]
    if met and not any(m in NOT_WITH_KX for m in without):
        rest = without[2:]
        return [*without[:2], "KX", *rest]
    return without


def install() -> None:
    from clinical.choices import InsightType
    from clinical.models import HealthInsight
    from core.admin_panels import Column, Panel, change_link, filtered_list, register_panel
    from hme.readiness import register_check
    from hme.services.billing import register_rental_modifier_hook

    from .models import AdherenceStatus

    register_check(adherence_readiness)
    register_rental_modifier_hook(rental_modifiers)
    register_panel(
        Panel(
            model="clinical.patient",
            key="pap_adherence",
            title="PAP adherence (LCD L33718)",
            order=55,
            rows=lambda request, patient: (
                AdherenceStatus.objects.for_user(request.user)
                .filter(patient=patient)
                .select_related("rental__equipment", "rental__order")
                .only(
                    "rental__order__number",
                    "rental__equipment__hcpcs_code",
                    "period_start",
                    "period_end",
                    "state",
                    "best_window_nights",
                    "trailing_nights",
                    "trailing_days",
                    "met_on",
                )
                .order_by("-period_start")
            ),
            columns=[
                Column("Order", lambda s: s.rental.order.number),
                Column("Device", lambda s: s.rental.equipment.hcpcs_code),
                Column("Days 1-90", lambda s: f"{s.period_start} to {s.period_end}"),
                Column("State", lambda s: s.get_state_display()),
                Column("Best 30 days", lambda s: f"{s.best_window_nights} of 30 nights >= 4 h"),
                Column("Last 30 days known", lambda s: f"{s.trailing_nights} of {s.trailing_days}"),
                Column("Met on", lambda s: s.met_on),
            ],
            link=change_link("adherence_adherencestatus"),
            full_list=filtered_list("adherence_adherencestatus"),
            permission="adherence.view_adherencestatus",
        )
    )
    register_panel(
        Panel(
            model="clinical.patient",
            key="adherence_insights",
            title="Adherence insights",
            order=56,
            rows=lambda request, patient: (
                HealthInsight.objects.for_user(request.user)
                .filter(patient=patient, insight_type=InsightType.ADHERENCE_RISK)
                .select_related("model")
                # Its description and data (encrypted) are read on the insight's page.
                .only(
                    "title",
                    "confidence",
                    "model__name",
                    "model__version",
                    "created_at",
                    "action_taken",
                )
                .order_by("-created_at")
            ),
            columns=[
                Column("Insight", lambda i: i.title),
                Column("Risk", lambda i: f"{i.confidence:.0%}" if i.confidence is not None else ""),
                Column("Model", lambda i: str(i.model) if i.model_id else ""),
                Column("Raised", lambda i: i.created_at.date()),
                Column("Action taken", lambda i: i.action_taken or "awaiting a call"),
            ],
            link=change_link("clinical_healthinsight"),
            full_list=filtered_list("clinical_healthinsight"),
            permission="clinical.view_healthinsight",
        )
    )
