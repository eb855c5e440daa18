"""DATABASE_POOL: psycopg's pool through Django's OPTIONS["pool"], and its gauges."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def settings_with(**variables):
    """DATABASES["default"] as config.settings builds it from these variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "PYTEST", "DJANGO_SETTINGS"))
    }
    env.update({"DEBUG": "1", **variables})
    code = (
        "import json, config.settings as s; print(json.dumps(s.DATABASES['default'], default=str))"
    )
    done = subprocess.run(  # noqa: S603 - our own settings module
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return done


def test_the_pool_is_configured_from_the_environment():
    done = settings_with(
        DATABASE_URL="postgres://app@127.0.0.1:5432/ariesone",
        DATABASE_POOL="1",
        DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_MAX_SIZE="6",
        DATABASE_POOL_TIMEOUT="3",
    )
    assert done.returncode == 0, done.stderr
    default = json.loads(done.stdout)
    assert default["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 6, "timeout": 3.0}
    # Django refuses persistent connections with a pool.
    assert default["CONN_MAX_AGE"] == 0


def test_no_pool_by_default_and_never_on_sqlite():
    off = json.loads(settings_with(DATABASE_URL="postgres://app@127.0.0.1/ariesone").stdout)
    assert "pool" not in off.get("OPTIONS", {})
    assert off["CONN_MAX_AGE"] == 60
    sqlite = json.loads(settings_with(DATABASE_URL="sqlite:///x.db", DATABASE_POOL="1").stdout)
    assert "pool" not in sqlite.get("OPTIONS", {})


def test_bad_sizes_stop_start_up_with_one_line():
    done = settings_with(
        DATABASE_URL="postgres://app@127.0.0.1/ariesone",
        DATABASE_POOL="1",
        DATABASE_POOL_MIN_SIZE="5",
        DATABASE_POOL_MAX_SIZE="2",
    )
    assert done.returncode != 0
    assert "DATABASE_POOL_MIN_SIZE must be between 0 and DATABASE_POOL_MAX_SIZE" in done.stderr


POOLED_RUN = """
import threading
import django
django.setup()
from django.db import connection, connections
from prometheus_client import generate_latest
from core import metrics

def work():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connections.close_all()

threads = [threading.Thread(target=work) for _ in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
metrics.record_pool_stats()
print(type(connection.pool).__name__)
for line in generate_latest(metrics.registry()).decode().splitlines():
    if line.startswith("ariesone_db_pool_"):
        print(line)
"""


def test_a_pooled_process_reuses_connections_and_reports_them(postgres_only):
    """A real process with the pool on, against the test database."""
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": url,
        "DATABASE_POOL": "1",
        "DATABASE_POOL_MIN_SIZE": "1",
        "DATABASE_POOL_MAX_SIZE": "2",
    }
    done = subprocess.run(  # noqa: S603 - our own code, fixed arguments
        [sys.executable, "-c", POOLED_RUN], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "ConnectionPool"
    figures = {line.split("{")[0]: float(line.split()[-1]) for line in lines[1:]}
    assert 1 <= figures["ariesone_db_pool_size"] <= 2
    assert figures["ariesone_db_pool_waiting"] == 0
    assert "ariesone_db_pool_available" in figures


@pytest.mark.parametrize("variable", ["DATABASE_POOL_MIN_SIZE", "DATABASE_POOL_MAX_SIZE"])
def test_sizes_are_documented(variable):
    assert variable in (ROOT / "docs" / "operations.md").read_text()
