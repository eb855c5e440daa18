"""A real Celery worker, on the real broker, completes a data-quality run.

Runs in the PostgreSQL + Redis pass of CI (it needs a broker and a database that a
second process can reach); skipped on the embedded default.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from core.models import DataQualityRun

ROOT = Path(__file__).resolve().parents[2]


def database_url():
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker(postgres_only):
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        pytest.skip("needs a broker (set CELERY_BROKER_URL)")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),  # the test database, not the real one
        "CELERY_BROKER_URL": broker,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_completes_a_data_quality_run(worker):
    from config.celery import app
    from core.tasks import run_data_quality

    assert settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False
    try:
        run_data_quality.apply_async()
    finally:
        app.conf.task_always_eager = True
    deadline = time.monotonic() + 90
    run = None
    while time.monotonic() < deadline:
        run = DataQualityRun.objects.filter(triggered_by="task").first()
        if run is not None and run.finished_at is not None:
            break
        if worker.poll() is not None:
            pytest.fail(f"the worker exited: {worker.stdout.read()[-2000:]}")
        time.sleep(0.5)
    assert run is not None, "no run completed in 90 s"
    assert run.finished_at is not None, "no run completed in 90 s"
    assert run.checks_run >= 4
    assert run.findings.count() == run.checks_run
