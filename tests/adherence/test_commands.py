"""The operator commands: import files, the daily run."""

import pytest
from django.core.management import CommandError, call_command

from adherence.models import UsageNight

from .conftest import good, usage_csv


def test_it_imports_files_and_prints_a_summary(company, rental, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_bytes(usage_csv(rental.start_date, good(12), serial="23221D0001"))
    call_command("import_device_usage", str(path), "--company", str(company.pk))
    out = capsys.readouterr().out
    assert "1 of 1 file(s) imported, 12 night(s)." in out
    assert UsageNight.objects.count() == 12


def test_a_bad_file_exits_non_zero_with_its_line(company, rental, tmp_path, capsys):
    good_file, bad_file = tmp_path / "a.csv", tmp_path / "b.csv"
    good_file.write_bytes(usage_csv(rental.start_date, good(2), serial="23221D0001"))
    bad_file.write_bytes(usage_csv(rental.start_date, ["x"], serial="23221D0001"))
    with pytest.raises(CommandError, match="1 of 2 file"):
        call_command(
            "import_device_usage", str(good_file), str(bad_file), "--company", str(company.pk)
        )
    assert "b.csv: The file was not imported: line 4" in capsys.readouterr().err
    assert UsageNight.objects.count() == 2


def test_it_needs_a_company(rental, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"x")
    with pytest.raises(CommandError, match="--company is required"):
        call_command("import_device_usage", str(path))


def test_the_daily_run_command(company, rental, capsys):
    call_command("run_adherence")
    assert "re-evaluated" in capsys.readouterr().out
    with pytest.raises(CommandError, match="future"):
        call_command("run_adherence", "--as-of", "2999-01-01")
