"""BACKUP_ENCRYPTION_KEY at start-up: required in production, never a dev or field key."""

import pytest
from cryptography.fernet import Fernet

from tests.core.test_settings import manage, production_env


def test_a_missing_backup_key_stops_start_up_with_one_line():
    result = manage("check", env=production_env(BACKUP_ENCRYPTION_KEY=None))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Configuration error: BACKUP_ENCRYPTION_KEY is not set.")


def test_the_development_backup_key_is_refused_in_production_mode():
    from config import settings as dev_settings

    result = manage(
        "check",
        env=production_env(BACKUP_ENCRYPTION_KEY=dev_settings._DEV_BACKUP_ENCRYPTION_KEY),
    )
    assert result.returncode == 2
    assert "The development BACKUP_ENCRYPTION_KEY is configured while DEBUG is off" in (
        result.stderr
    )


@pytest.mark.parametrize("position", ["only", "second"])
def test_a_backup_key_equal_to_a_field_key_is_refused(position):
    field_key, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    backup_keys = field_key if position == "only" else f"{other},{field_key}"
    result = manage(
        "check",
        env=production_env(FIELD_ENCRYPTION_KEY=field_key, BACKUP_ENCRYPTION_KEY=backup_keys),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "Configuration error: BACKUP_ENCRYPTION_KEY must differ from every "
        "FIELD_ENCRYPTION_KEY key (see docs/operations.md, Backup and restore)."
    ]


def test_several_backup_keys_are_accepted():
    keys = ",".join(Fernet.generate_key().decode() for _ in range(2))
    result = manage("check", "--deploy", env=production_env(BACKUP_ENCRYPTION_KEY=keys))
    assert result.returncode == 0, result.stderr
