"""Every operation of the adherence app: import a usage file, re-evaluate a rental
against the Medicare rule, raise or close the compliance alert, refresh the patient's
digital twin, and the daily run. Admin, API, command and task all call these.
"""

import datetime
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinical.choices import AlertStatus, Metric, Severity
from clinical.models import BiometricAlert, DigitalTwin
from clinical.services import resolve_alert
from core.exceptions import ServiceError
from core.locks import lock_row
from dme.choices import RentalStatus
from dme.models import Rental

from . import rules
from .choices import AdherenceState
from .importing import ParsedFile, parse_usage_csv
from .models import AdherenceStatus, UsageImport, UsageNight

ALERT_SOURCE = "Adherence rule (LCD L33718)"
TWIN_KEY = "pap_usage"


@dataclass
class ImportResult:
    """What one import did (counts only: safe to print and return)."""

    usage_import: UsageImport
    status: AdherenceStatus
    created: int
    updated: int
    unchanged: int
    prediction: Any = None

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        rental = self.usage_import.rental
        return (
            f"Imported {self.rows} night(s) for order {rental.order.number}: {self.created} new, "
            f"{self.updated} changed, {self.unchanged} unchanged; adherence: "
            f"{self.status.get_state_display().lower()}."
        )


# Matching a file to a PAP rental -------------------------------------------------------


def pap_rentals(company: Any) -> Any:
    return Rental.objects.for_company(company).filter(
        equipment__hcpcs_code__in=rules.PAP_DEVICE_CODES
    )


def find_rental(
    company: Any, *, serial: str = "", patient_reference: str = "", first_night: datetime.date
) -> Rental:
    """The company's PAP rental (E0601/E0470/E0471) the file is about: by the device's
    serial number (the rented unit), else by the patient number; of several, the last
    one started on or before the file's first night. Messages never echo a serial."""
    serial, patient_reference = serial.strip(), patient_reference.strip().upper()
    if not serial and not patient_reference:
        raise ServiceError(
            "The file names no device serial number or patient: give one of them.",
            code="rental_not_found",
            fields={"serial": ["Give the device serial number or the patient number."]},
        )
    candidates = pap_rentals(company).exclude(status=RentalStatus.RETURNED)
    if serial:
        candidates = candidates.filter(asset__serial_number__iexact=serial)
    if patient_reference:
        candidates = candidates.filter(patient__number=patient_reference)
    candidates = candidates.select_related("order", "patient", "equipment")
    rentals = list(candidates.order_by("-start_date", "-created_at"))
    if not rentals:
        which = "the file's device serial number" if serial else f"patient {patient_reference}"
        raise ServiceError(
            f"No PAP rental (E0601, E0470, E0471) that is not returned matches {which}.",
            code="rental_not_found",
        )
    for rental in rentals:
        if rental.start_date <= first_night:
            return rental
    raise ServiceError(
        f"The file's first night is before the PAP rental on order {rentals[-1].order.number} "
        "started: its nights belong to no rental.",
        code="rental_not_found",
    )


# Importing ----------------------------------------------------------------------------


def import_usage(
    company: Any,
    data: bytes,
    *,
    serial: str = "",
    patient_reference: str = "",
    source: str = "",
    today: datetime.date | None = None,
) -> ImportResult:
    """Import one nightly usage export for the company's matching PAP rental.

    All or nothing: a bad line refuses the whole file with its line number. Importing
    the same file again changes nothing (one row per night per rental: a night already
    stored is updated when its figures differ). Then the rental is re-evaluated, and on
    day 14 the non-adherence risk is predicted.
    """
    parsed = parse_usage_csv(data)
    rental = find_rental(
        company,
        serial=serial or parsed.serial,
        patient_reference=patient_reference or parsed.patient_reference,
        first_night=min(n.night for n in parsed.nights),
    )
    return _import_parsed(rental, parsed, source=source, today=today)


def import_usage_into(
    rental: Rental, data: bytes, *, source: str = "", today: datetime.date | None = None
) -> ImportResult:
    """:func:`import_usage` for a rental chosen already (the demo; a caller that scoped
    the rental through ``for_user``): the file's serial or patient is not matched."""
    return _import_parsed(rental, parse_usage_csv(data), source=source, today=today)


def _import_parsed(
    rental: Rental, parsed: ParsedFile, *, source: str, today: datetime.date | None
) -> ImportResult:
    today = today or timezone.localdate()
    first = min(n.night for n in parsed.nights)
    _check_nights(parsed, rental, today)
    with transaction.atomic():
        rental = lock_row(rental, "order", "patient", "equipment")
        created, updated, unchanged = _store_nights(rental, parsed, source or parsed.source)
        usage_import = UsageImport.objects.create(
            company_id=rental.company_id,
            rental=rental,
            source=source or parsed.source,
            rows=len(parsed.nights),
            created_count=created,
            updated_count=updated,
            unchanged_count=unchanged,
            first_night=first,
            last_night=max(n.night for n in parsed.nights),
        )
        status = refresh_rental(rental, today=today)
        prediction = _predict_if_due(status, today)
    return ImportResult(usage_import, status, created, updated, unchanged, prediction)


def _check_nights(parsed: ParsedFile, rental: Rental, today: datetime.date) -> None:
    errors = []
    for night in parsed.nights:
        if night.night < rental.start_date:
            errors.append(f"line {night.line}: the night is before the rental started")
        elif night.night > today:
            errors.append(f"line {night.line}: the night is in the future")
    if errors:
        raise ServiceError(
            f"The file was not imported: {'; '.join(errors[:20])}.",
            code="invalid_file",
            fields={"file": errors[:20]},
        )


def _store_nights(rental: Rental, parsed: ParsedFile, source: str) -> tuple[int, int, int]:
    existing = {
        row.night: row
        for row in UsageNight.objects.filter(
            rental=rental, night__in=[n.night for n in parsed.nights]
        )
    }
    new, changed, unchanged = [], [], 0
    for night in parsed.nights:
        row = existing.get(night.night)
        if row is None:
            new.append(
                UsageNight(
                    company_id=rental.company_id,
                    rental=rental,
                    patient_id=rental.patient_id,
                    night=night.night,
                    hours=night.hours,
                    ahi=night.ahi,
                    leak=night.leak,
                    source=source,
                )
            )
        elif (row.hours, row.ahi, row.leak) != (night.hours, night.ahi, night.leak):
            row.hours, row.ahi, row.leak, row.source = night.hours, night.ahi, night.leak, source
            changed.append(row)
        else:
            unchanged += 1
    UsageNight.objects.bulk_create(new, batch_size=500)
    if changed:
        UsageNight.objects.bulk_update(
            changed, ["hours", "ahi", "leak", "source", "updated_at"], batch_size=500
        )
    return len(new), len(changed), unchanged


# Evaluating ---------------------------------------------------------------------------


def nights_of(rental: Rental) -> dict[datetime.date, Decimal]:
    return dict(UsageNight.objects.filter(rental=rental).values_list("night", "hours"))


def refresh_rental(rental: Rental, *, today: datetime.date | None = None) -> AdherenceStatus:
    """Re-evaluate the rental against the rule, store it, raise/raise the severity
    of/close its compliance alert, and refresh the patient's digital twin."""
    today = today or timezone.localdate()
    with transaction.atomic():
        evaluation = rules.evaluate(rental.start_date, nights_of(rental), today)
        status = AdherenceStatus.objects.select_for_update().filter(rental=rental).first()
        if status is None:
            status = AdherenceStatus(
                company_id=rental.company_id, rental=rental, patient_id=rental.patient_id
            )
        _apply(status, evaluation)
        status.save()
        _update_alert(status, evaluation)
        refresh_twin(rental.patient_id, rental.company_id)
    return status


def _apply(status: AdherenceStatus, evaluation: rules.Evaluation) -> None:
    status.state = evaluation.state
    status.period_start = evaluation.start
    status.period_end = evaluation.period_end
    status.known_through = evaluation.known_through
    status.nights_recorded = evaluation.nights_recorded
    status.best_window_start = evaluation.best_window_start
    status.best_window_nights = evaluation.best_window_nights
    status.met_on = evaluation.met_on
    status.trailing_nights = evaluation.trailing_nights
    status.trailing_days = evaluation.trailing_days
    status.days_remaining = evaluation.days_remaining
    status.evaluated_at = timezone.now()


def _update_alert(status: AdherenceStatus, evaluation: rules.Evaluation) -> None:
    """Falling short with days left: an open alert (medium); can no longer be met: the
    alert is raised to high. Met or back on track: the alert is resolved."""
    alert = status.alert
    if alert is not None and alert.status == AlertStatus.RESOLVED:
        alert = None
    falling_short = evaluation.state in (AdherenceState.AT_RISK, AdherenceState.NOT_MET)
    if not falling_short:
        if alert is not None:
            # A system job resolves it: no user (the rule, not a person, closed it).
            resolve_alert(alert, None, note=f"Adherence {status.get_state_display().lower()}.")  # type: ignore[arg-type]
        return
    severity = Severity.HIGH if evaluation.state == AdherenceState.NOT_MET else Severity.MEDIUM
    value = (evaluation.trailing_share * 100).quantize(Decimal("0.01"))
    observed = timezone.make_aware(
        datetime.datetime.combine(evaluation.known_through or evaluation.start, datetime.time())
    )
    if alert is None:
        alert = BiometricAlert.objects.create(
            company_id=status.company_id,
            patient_id=status.patient_id,
            metric=Metric.CPAP_USAGE_HOURS,
            value=value,
            threshold=Decimal(70),
            severity=severity,
            observed_at=observed,
            source=ALERT_SOURCE,
        )
        status.alert = alert
        status.save(update_fields=["alert", "updated_at"])
    else:
        alert.value, alert.severity, alert.observed_at = value, severity, observed
        alert.save(update_fields=["value", "severity", "observed_at", "updated_at"])


# The digital twin ---------------------------------------------------------------------


def usage_trends(nights: Sequence[tuple[datetime.date, Decimal, Decimal | None, Decimal | None]]):
    """Trends of a patient's nights (night, hours, AHI, leak), ordered by night: the 7-
    and 30-day mean hours (nights without a row count as 0 h), the 30-day trend (hours
    per day, least squares), and the correlations of AHI and leak with the hours."""
    if not nights:
        return {}
    last = nights[-1][0]
    by_night = {night: float(hours) for night, hours, _, _ in nights}

    def mean_over(days: int) -> float:
        first = max(nights[0][0], last - datetime.timedelta(days=days - 1))
        span = (last - first).days + 1
        return round(
            sum(by_night.get(first + datetime.timedelta(d), 0.0) for d in range(span)) / span, 2
        )

    first30 = max(nights[0][0], last - datetime.timedelta(days=29))
    xs = [
        (first30 + datetime.timedelta(d) - first30).days for d in range((last - first30).days + 1)
    ]
    ys = [by_night.get(first30 + datetime.timedelta(d), 0.0) for d in xs]
    slope = _slope(xs, ys)
    recent = [n for n in nights if n[0] > last - datetime.timedelta(days=90)]
    return {
        "last_night": last.isoformat(),
        "nights": len(nights),
        "mean_hours_7d": mean_over(7),
        "mean_hours_30d": mean_over(30),
        "nights_4h_30d": sum(1 for y in ys if y >= float(rules.MIN_HOURS)),
        "trend_hours_per_day_30d": slope,
        "ahi_hours_correlation": _correlation(
            [float(a) for _, _, a, _ in recent if a is not None],
            [float(h) for _, h, a, _ in recent if a is not None],
        ),
        "leak_hours_correlation": _correlation(
            [float(lk) for _, _, _, lk in recent if lk is not None],
            [float(h) for _, h, _, lk in recent if lk is not None],
        ),
        "mean_ahi_30d": _mean(
            [float(a) for n, _, a, _ in nights if a is not None and n >= first30]
        ),
    }


def _slope(xs: list[int], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    return round(statistics.linear_regression(xs, ys).slope, 4)


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return round(statistics.correlation(xs, ys), 4)


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def refresh_twin(patient_id: Any, company_id: Any) -> DigitalTwin:
    """Recompute the PAP usage part of the patient's digital twin from all their nights
    (one query) and store it under ``biometric_correlations["pap_usage"]``."""
    nights = list(
        UsageNight.objects.filter(patient_id=patient_id)
        .order_by("night")
        .values_list("night", "hours", "ahi", "leak")
    )
    twin = DigitalTwin.objects.select_for_update().filter(patient_id=patient_id).first()
    now = timezone.now()
    if twin is None:
        twin = DigitalTwin(company_id=company_id, patient_id=patient_id, computed_at=now)
    correlations = dict(twin.biometric_correlations or {})
    correlations[TWIN_KEY] = usage_trends(nights)
    twin.biometric_correlations = correlations
    twin.computed_at = now
    twin.save()
    return twin


# The daily run ------------------------------------------------------------------------


@dataclass
class DailyRun:
    as_of: datetime.date
    evaluated: int = 0
    predicted: int = 0
    outcomes: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"Adherence as of {self.as_of.isoformat()}: {self.evaluated} rental(s) re-evaluated, "
            f"{self.predicted} prediction(s), {self.outcomes} outcome(s) written back."
        )


def open_statuses(as_of: datetime.date) -> Any:
    """Statuses that can still change: not final, or final with a prediction whose
    outcome is not written back yet."""
    final = (AdherenceState.MET, AdherenceState.NOT_MET)
    return AdherenceStatus.objects.exclude(state__in=final, prediction__isnull=True).exclude(
        state__in=final, prediction__actual_recorded_at__isnull=False
    )


def run_daily(
    as_of: datetime.date | None = None, rentals: Iterable[Rental] | None = None
) -> DailyRun:
    """Re-evaluate every open rental (a window closes without an import: the rule is
    then not met), predict at day 14 when no prediction was made, and write the actual
    outcome back into the prediction log when the 90-day window closes."""
    from . import ml

    as_of = as_of or timezone.localdate()
    run = DailyRun(as_of=as_of)
    statuses = open_statuses(as_of).select_related("rental")
    if rentals is not None:
        statuses = statuses.filter(rental__in=list(rentals))
    for status in statuses.order_by("period_end", "id").iterator(chunk_size=200):
        with transaction.atomic():
            rental = lock_row(status.rental, "order", "patient", "equipment")
            if status.state not in (AdherenceState.MET, AdherenceState.NOT_MET):
                status = refresh_rental(rental, today=as_of)
                run.evaluated += 1
            else:
                status = AdherenceStatus.objects.select_related("prediction").get(pk=status.pk)
            if _predict_if_due(status, as_of) is not None:
                run.predicted += 1
            if ml.record_outcome(status, as_of):
                run.outcomes += 1
    return run


def _predict_if_due(status: AdherenceStatus, today: datetime.date) -> Any:
    from . import ml

    if status.prediction_id is not None:
        return None
    return ml.predict_for_status(status, today)
