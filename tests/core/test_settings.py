"""Start-up configuration: production refuses to run on missing or development secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SECRETS = [
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "BLIND_INDEX_KEY",
    "BACKUP_ENCRYPTION_KEY",
    "DOCUMENT_ENCRYPTION_KEY",
]


# What a test run may have set that production never does (the browser tests allow sync
# ORM calls beside Playwright's event loop; check --deploy rightly refuses that).
TEST_ONLY = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def production_env(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and k not in TEST_ONLY}
    env.update(
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="x" * 60 + "-production-secret",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        BLIND_INDEX_KEY="production-blind-index-key-0123456789",
        BACKUP_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        # 32 random bytes, url-safe base64 (the same shape as a Fernet key).
        DOCUMENT_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="aries.example.test",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args, env):
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_reports_nothing_in_production_mode():
    result = manage("check", "--deploy", env=production_env())
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert result.stderr.strip() == ""


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "BLIND_INDEX_KEY"])
def test_a_missing_secret_stops_start_up_with_one_line(missing):
    result = manage("check", env=production_env(**{missing: None}))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Configuration error: {missing} is not set.")


def test_a_development_key_is_refused_in_production_mode():
    from config import settings as dev_settings

    result = manage("check", env=production_env(SECRET_KEY=dev_settings._DEV_SECRET_KEY))
    assert result.returncode == 2
    assert "A development key is configured while DEBUG is off" in result.stderr


def test_a_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("y" * 60 + "-from-a-file")
    result = manage(
        "check", "--deploy", env=production_env(SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file))
    )
    assert result.returncode == 0, result.stderr
