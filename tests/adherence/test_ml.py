"""The day-14 non-adherence model: training, the checksummed artefact, predictions
logged, the "call the patient" insight, outcomes written back."""

import datetime
import hashlib
import random
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from adherence import ml, services, tasks
from adherence.choices import AdherenceState
from adherence.demo_data import as_csv, nights_for
from adherence.models import AdherenceStatus, UsageNight
from clinical.choices import AIModelKind, InsightType
from clinical.models import AIModel, HealthInsight, PredictionLog
from core.exceptions import ServiceError

from .conftest import TODAY, good, pap_rental, usage_csv


@pytest.fixture(autouse=True)
def models_dir(settings, tmp_path):
    settings.ADHERENCE_MODELS_DIR = tmp_path / "models"
    ml._LOADED.clear()
    return settings.ADHERENCE_MODELS_DIR


def cohort(company, size=40, seed=7):
    """``size`` PAP rentals whose 90 days are over, with invented usage (half engaged,
    half not), evaluated as the import would."""
    rng = random.Random(seed)
    start = TODAY - datetime.timedelta(days=120)
    for i in range(size):
        rental = pap_rental(company, start)
        e = rng.uniform(0.55, 1.0) if i % 2 else rng.uniform(0.0, 0.45)
        rows = nights_for(rng, start, TODAY - datetime.timedelta(days=1), e=e)
        UsageNight.objects.bulk_create(
            UsageNight(
                company=company,
                rental=rental,
                patient=rental.patient,
                night=night,
                hours=hours,
                ahi=ahi,
                leak=leak,
                source="airview",
            )
            for night, hours, ahi, leak in rows
        )
        services.refresh_rental(rental)


@pytest.fixture
def trained(company):
    cohort(company)
    return ml.train(company)


def test_it_trains_and_registers_the_model(company, trained, models_dir):
    model = trained.model
    assert model.kind == AIModelKind.ADHERENCE
    assert model.is_active
    assert model.version
    assert trained.rows == 40
    assert model.training_set_size == 30
    assert trained.test_rows == 10
    assert Decimal(0) <= model.auc <= Decimal(1)
    assert model.accuracy is not None
    assert trained.auc > 0.7  # the invented usage has a real signal
    path = models_dir / model.artefact
    assert path.is_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.artefact_sha256
    assert "AUC" in trained.summary()


def test_retraining_deactivates_the_previous_version(company, trained):
    later = ml.train(company, seed=1)
    assert later.model.pk != trained.model.pk
    trained.model.refresh_from_db()
    assert not trained.model.is_active
    assert ml.active_model(company.pk) == later.model


def test_it_refuses_to_train_on_too_little(company):
    cohort(company, size=6)
    with pytest.raises(ServiceError) as error:
        ml.train(company)
    assert error.value.code == "not_enough_data"
    assert not AIModel.objects.exists()


def test_a_changed_file_is_never_loaded(company, trained, models_dir):
    path = models_dir / trained.model.artefact
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ServiceError, match="does not match the recorded checksum"):
        ml.load(trained.model)


def test_a_file_outside_the_models_directory_is_never_loaded(company, trained):
    AIModel.objects.filter(pk=trained.model.pk).update(artefact="../../etc/passwd")
    trained.model.refresh_from_db()
    with pytest.raises(ServiceError, match="not under the models directory"):
        ml.load(trained.model)


def day14_import(company, hours, serial):
    """A rental started 14 days ago and its first 14 nights imported: ``hours`` a list
    of hours, or an engagement (0 to 1) for invented nights with AHI and leak to match."""
    start = TODAY - datetime.timedelta(days=14)
    pap_rental(company, start, serial=serial)
    if isinstance(hours, list):
        data = usage_csv(start, hours, serial=serial)
    else:
        rows = nights_for(random.Random(serial), start, TODAY - datetime.timedelta(days=1), hours)
        data = as_csv(rows, serial=serial)
    return services.import_usage(company, data)


def test_the_day_14_import_predicts_logs_and_raises_the_insight(company, trained):
    result = day14_import(company, 0.05, "SN-RISK")
    log = result.prediction
    assert isinstance(log, PredictionLog)
    assert log.model == trained.model
    assert log.patient_id == result.status.patient_id
    assert set(log.input_data["features"]) == set(ml.FEATURES)
    assert log.input_data["features"]["nights_4h"] <= 3
    risk = log.prediction["non_adherence_probability"]
    assert risk >= 0.5
    assert log.confidence == Decimal(str(round(max(risk, 1 - risk), 4)))
    assert log.processing_ms is not None
    insight = HealthInsight.objects.get(patient_id=result.status.patient_id)
    assert insight.insight_type == InsightType.ADHERENCE_RISK
    assert insight.is_actionable
    assert insight.title.startswith("Call the patient")
    assert insight.model == trained.model
    # Once per rental: importing again predicts nothing more.
    again = services.import_usage(
        company, usage_csv(result.status.period_start, [Decimal("1.5")] * 3, serial="SN-RISK")
    )
    assert again.prediction is None
    assert PredictionLog.objects.count() == 1


def test_a_good_start_is_logged_without_an_insight(company, trained):
    result = day14_import(company, 0.95, "SN-GOOD")
    assert result.prediction.prediction["label"] == "likely_adherent"
    assert not HealthInsight.objects.exists()


def test_before_day_14_or_without_a_model_nothing_is_predicted(company):
    assert day14_import(company, [Decimal("1.0")] * 14, "SN-NOMODEL").prediction is None
    start = TODAY - datetime.timedelta(days=10)
    pap_rental(company, start, serial="SN-EARLY")
    early = services.import_usage(company, usage_csv(start, good(10), serial="SN-EARLY"))
    assert early.prediction is None


def test_the_daily_run_writes_the_outcome_back_when_the_window_closes(company, trained):
    result = day14_import(company, [Decimal("1.5")] * 14, "SN-OUT")
    status = result.status
    assert status.prediction.actual_recorded_at is None
    run = services.run_daily(as_of=status.period_end)
    assert run.outcomes == 0
    run = services.run_daily(as_of=status.period_end + datetime.timedelta(days=1))
    assert run.outcomes == 1
    status.refresh_from_db()
    assert status.state == AdherenceState.NOT_MET
    log = PredictionLog.objects.get(pk=status.prediction_id)
    assert log.actual["adherent"] is False
    assert log.actual["non_adherent"] == 1
    assert log.actual_recorded_at is not None
    assert services.run_daily(as_of=status.period_end + datetime.timedelta(days=2)).outcomes == 0


def test_the_daily_task_predicts_when_an_import_could_not(company):
    day14_import(company, [Decimal("1.5")] * 14, "SN-LATE")
    cohort(company)
    ml.train(company)
    result = tasks.run_daily()
    assert result["status"] == "done"
    assert result["predicted"] == 1
    assert AdherenceStatus.objects.filter(prediction__isnull=False).count() == 1


def test_the_training_command(company, trained, capsys):
    call_command("train_adherence_model", "--company", str(company.pk))
    out = capsys.readouterr().out
    assert "AUC" in out
    assert "Trained 1 of 1" in out


def test_the_training_command_fails_readably(company):
    with pytest.raises(CommandError, match="Not enough known outcomes"):
        call_command("train_adherence_model", "--company", str(company.pk))
    with pytest.raises(CommandError, match="a UUID"):
        call_command("train_adherence_model", "--company", "nope")
