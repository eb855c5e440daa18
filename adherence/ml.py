"""The non-adherence risk model: features of a rental's first 14 nights, training with
scikit-learn on the company's own outcomes, predictions logged, outcomes written back.

The model file is written by :func:`train` only, under ``ADHERENCE_MODELS_DIR``, and
its SHA-256 recorded in the AI model row; :func:`load` reads the bytes, compares the
checksum and unpickles only on a match (joblib files are pickles: never load one this
site did not write).
"""

import datetime
import hashlib
import io
import math
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinical.choices import AIModelKind, InsightType
from clinical.models import AIModel, HealthInsight, PredictionLog
from core.exceptions import ServiceError

from . import rules
from .choices import AdherenceState
from .models import AdherenceStatus, UsageNight

MODEL_NAME = "PAP non-adherence (day 14)"
FEATURE_DAYS = 14
FEATURES = (
    "mean_hours",
    "nights_4h",
    "std_hours",
    "min_hours",
    "last7_mean_hours",
    "slope_hours",
    "missing_nights",
    "mean_ahi",
    "mean_leak",
)
MIN_TRAINING_ROWS = 20
MIN_PER_CLASS = 5
TEST_SHARE = 0.25
FINAL = (AdherenceState.MET, AdherenceState.NOT_MET)


def features(
    start: datetime.date,
    nights: dict[datetime.date, tuple[Decimal, Decimal | None, Decimal | None]],
) -> dict[str, float]:
    """The features of days 1 to 14 (a night without a row is a night of 0 h; nights
    of 0 h are the missing ones)."""
    days = [start + datetime.timedelta(days=i) for i in range(FEATURE_DAYS)]
    hours = [float(nights[d][0]) if d in nights else 0.0 for d in days]
    ahis = [float(v) for d in days if d in nights and (v := nights[d][1]) is not None]
    leaks = [float(v) for d in days if d in nights and (v := nights[d][2]) is not None]
    return {
        "mean_hours": statistics.fmean(hours),
        "nights_4h": float(sum(1 for h in hours if h >= float(rules.MIN_HOURS))),
        "std_hours": statistics.pstdev(hours),
        "min_hours": min(hours),
        "last7_mean_hours": statistics.fmean(hours[7:]),
        "slope_hours": statistics.linear_regression(range(FEATURE_DAYS), hours).slope,
        "missing_nights": float(sum(1 for h in hours if h == 0)),
        "mean_ahi": statistics.fmean(ahis) if ahis else 0.0,
        "mean_leak": statistics.fmean(leaks) if leaks else 0.0,
    }


def _nights_by_rental(rental_ids: list[Any]) -> dict[Any, dict[datetime.date, tuple]]:
    found: dict[Any, dict[datetime.date, tuple]] = {pk: {} for pk in rental_ids}
    for rental_id, night, hours, ahi, leak in UsageNight.objects.filter(
        rental_id__in=rental_ids
    ).values_list("rental_id", "night", "hours", "ahi", "leak"):
        found[rental_id][night] = (hours, ahi, leak)
    return found


def day14_known(status: AdherenceStatus) -> bool:
    return status.known_through is not None and status.known_through >= (
        status.period_start + datetime.timedelta(days=FEATURE_DAYS - 1)
    )


# Training -----------------------------------------------------------------------------


@dataclass
class TrainingResult:
    model: AIModel
    rows: int
    train_rows: int
    test_rows: int
    accuracy: float
    auc: float
    positives: int

    def summary(self) -> str:
        return (
            f"Trained {self.model} on {self.rows} rental(s) ({self.positives} not adherent): "
            f"held-out accuracy {self.accuracy:.3f}, AUC {self.auc:.3f} on {self.test_rows} "
            "rental(s)."
        )


def training_set(company: Any) -> tuple[list[list[float]], list[int]]:
    """Rentals of the company whose outcome is known (met, or the 90 days closed
    without it) and whose first 14 nights are imported: features and label (1: not
    adherent)."""
    statuses = list(
        AdherenceStatus.objects.for_company(company)
        .filter(state__in=FINAL)
        .values("rental_id", "period_start", "known_through", "state")
    )
    nights = _nights_by_rental([s["rental_id"] for s in statuses])
    X, y = [], []
    for row in statuses:
        if not nights[row["rental_id"]]:
            continue
        values = features(row["period_start"], nights[row["rental_id"]])
        X.append([values[name] for name in FEATURES])
        y.append(1 if row["state"] == AdherenceState.NOT_MET else 0)
    return X, y


def models_dir() -> Path:
    return Path(settings.ADHERENCE_MODELS_DIR).resolve()


def train(company: Any, *, seed: int = 0) -> TrainingResult:
    """Train a logistic regression (standardised features) on the company's outcomes;
    measure it on a stratified held-out quarter; register it (the previous versions
    are deactivated) with its file and checksum."""
    import joblib
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = training_set(company)
    positives = sum(y)
    if len(y) < MIN_TRAINING_ROWS or min(positives, len(y) - positives) < MIN_PER_CLASS:
        raise ServiceError(
            f"Not enough known outcomes to train: {len(y)} rental(s) with their 90 days "
            f"closed ({positives} not adherent); at least {MIN_TRAINING_ROWS}, with "
            f"{MIN_PER_CLASS} of each outcome, are needed.",
            code="not_enough_data",
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SHARE, stratify=y, random_state=seed
    )
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(X_train, y_train)
    probabilities = pipeline.predict_proba(X_test)[:, 1]
    accuracy = float(accuracy_score(y_test, pipeline.predict(X_test)))
    auc = float(roc_auc_score(y_test, probabilities))

    now = timezone.now()
    number = AIModel.objects.for_company(company).filter(name=MODEL_NAME).count() + 1
    version = f"{number}.{now:%Y%m%d}"
    relative = Path(str(company.pk)) / f"pap-nonadherence-v{number}-{now:%Y%m%dT%H%M%S}.joblib"
    buffer = io.BytesIO()
    joblib.dump(
        {"pipeline": pipeline, "features": FEATURES, "sklearn": sklearn.__version__}, buffer
    )
    payload = buffer.getvalue()
    target = models_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)
    try:
        with transaction.atomic():
            AIModel.objects.for_company(company).filter(name=MODEL_NAME).update(is_active=False)
            model = AIModel.objects.create(
                company=company,
                name=MODEL_NAME,
                version=version,
                kind=AIModelKind.ADHERENCE,
                description=(
                    "Logistic regression on the first 14 nights of a PAP rental "
                    f"({', '.join(FEATURES)}); predicts not meeting LCD L33718's adherence "
                    f"rule. scikit-learn {sklearn.__version__}."
                ),
                accuracy=_unit(accuracy),
                auc=_unit(auc),
                training_set_size=len(y_train),
                trained_at=now,
                artefact=str(relative),
                artefact_sha256=hashlib.sha256(payload).hexdigest(),
                is_active=True,
            )
    except Exception:
        target.unlink(missing_ok=True)
        raise
    return TrainingResult(model, len(y), len(y_train), len(y_test), accuracy, auc, positives)


def _unit(value: float) -> Decimal:
    return Decimal(str(round(value, 4)))


# Loading and predicting ---------------------------------------------------------------

_LOADED: dict[tuple[Any, str], Any] = {}


def active_model(company_id: Any) -> AIModel | None:
    return (
        AIModel.objects.filter(company_id=company_id, name=MODEL_NAME, is_active=True)
        .exclude(artefact="")
        .order_by("-trained_at")
        .first()
    )


def load(model: AIModel) -> Any:
    """The model's pipeline, from its file, only if the file's SHA-256 is the one
    recorded when it was trained and the file lies under the models directory."""
    import joblib

    key = (model.pk, model.artefact_sha256)
    if key in _LOADED:
        return _LOADED[key]
    root = models_dir()
    path = (root / model.artefact).resolve()
    if root not in path.parents or not model.artefact_sha256:
        raise ServiceError(
            f"{model}: its file is not under the models directory.", code="bad_model"
        )
    try:
        payload = path.read_bytes()
    except OSError:
        raise ServiceError(
            f"{model}: its file is missing; train again.", code="bad_model"
        ) from None
    if hashlib.sha256(payload).hexdigest() != model.artefact_sha256:
        raise ServiceError(
            f"{model}: its file does not match the recorded checksum; it is not loaded.",
            code="bad_model",
        )
    bundle = joblib.load(io.BytesIO(payload))
    if tuple(bundle.get("features", ())) != FEATURES:
        raise ServiceError(f"{model}: trained on other features; train again.", code="bad_model")
    _LOADED[key] = bundle["pipeline"]
    return bundle["pipeline"]


def predict_for_status(status: AdherenceStatus, today: datetime.date) -> PredictionLog | None:
    """Predict once the first 14 nights are known (and the rule is not met already),
    with the company's active model; log it; raise the "call the patient" insight when
    the risk is at or above ``ADHERENCE_RISK_THRESHOLD``. None when not due or no model."""
    if status.prediction_id is not None or not day14_known(status):
        return None
    if status.state == AdherenceState.MET or today > status.period_end:
        return None
    model = active_model(status.company_id)
    if model is None:
        return None
    pipeline = load(model)
    nights = _nights_by_rental([status.rental_id])[status.rental_id]
    started = time.perf_counter()
    values = features(status.period_start, nights)
    risk = float(pipeline.predict_proba([[values[name] for name in FEATURES]])[0][1])
    elapsed = max(0, math.ceil((time.perf_counter() - started) * 1000))
    threshold = float(settings.ADHERENCE_RISK_THRESHOLD)
    high = risk >= threshold
    with transaction.atomic():
        log = PredictionLog.objects.create(
            company_id=status.company_id,
            model=model,
            patient_id=status.patient_id,
            input_data=cast(
                Any,
                {
                    "rental": str(status.rental_id),
                    "days": FEATURE_DAYS,
                    "features": {k: round(v, 4) for k, v in values.items()},
                },
            ),
            prediction=cast(
                Any,
                {
                    "non_adherence_probability": round(risk, 4),
                    "threshold": threshold,
                    "label": "at_risk" if high else "likely_adherent",
                },
            ),
            confidence=_unit(max(risk, 1 - risk)),
            processing_ms=elapsed,
        )
        status.prediction = log
        status.save(update_fields=["prediction", "updated_at"])
        if high:
            HealthInsight.objects.create(
                company_id=status.company_id,
                patient_id=status.patient_id,
                model=model,
                insight_type=InsightType.ADHERENCE_RISK,
                title="Call the patient: CPAP adherence at risk",
                description=(
                    f"After the first {FEATURE_DAYS} nights the model gives a {risk:.0%} "
                    "chance of not meeting Medicare's adherence rule (>= 4 h on 70% of nights "
                    "in 30 consecutive days, LCD L33718) by "
                    f"{status.period_end:%m/%d/%Y}. Call to check mask fit, comfort and "
                    "pressure, and book a follow-up."
                ),
                data=cast(Any, {"prediction": str(log.pk), "probability": round(risk, 4)}),
                confidence=_unit(risk),
                is_actionable=True,
                expires_at=timezone.make_aware(
                    datetime.datetime.combine(
                        status.period_end + datetime.timedelta(days=1), datetime.time()
                    )
                ),
            )
    return log


def record_outcome(status: AdherenceStatus, as_of: datetime.date) -> bool:
    """Write the actual outcome into the status's prediction once it is known: the rule
    met, or the 90-day window closed (the daily task). True when written now."""
    if status.prediction_id is None or status.state not in FINAL:
        return False
    updated = PredictionLog.objects.filter(
        pk=status.prediction_id, actual_recorded_at__isnull=True
    ).first()
    if updated is None:
        return False
    adherent = status.state == AdherenceState.MET
    updated.actual = {
        "adherent": adherent,
        "non_adherent": 0 if adherent else 1,
        "met_on": status.met_on.isoformat() if status.met_on else None,
        "window_closed_on": status.period_end.isoformat(),
        "best_window_nights": status.best_window_nights,
    }
    updated.actual_recorded_at = timezone.now()
    updated.save(update_fields=["actual", "actual_recorded_at", "updated_at"])
    return True
