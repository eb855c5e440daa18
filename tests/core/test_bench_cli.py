"""The benchmarks are never run by the suite; only their command line is checked."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.databases import BenchDatabase

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("module", "options"),
    [
        ("bench", ("--patients", "--reuse")),
        ("bench.logs", ("--rows", "--keep", "--keep-indexes", "--reuse")),
    ],
)
def test_python_m_bench_help_lists_its_options(module, options):
    completed = subprocess.run(  # noqa: S603 - our own modules, fixed arguments
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    for option in options:
        assert option in completed.stdout


def test_the_bench_databases_are_named_after_the_configured_one_never_it():
    small = BenchDatabase.for_size("postgres://postgres@127.0.0.1:5432/ariesone_bench", 1000)
    assert small.name == "ariesone_bench_1000"
    assert small.url == "postgres://postgres@127.0.0.1:5432/ariesone_bench_1000"
    sqlite = BenchDatabase.for_size("sqlite:////tmp/bench.sqlite3", 20000)
    assert sqlite.url == "sqlite:////tmp/bench_20000.sqlite3"
    # Only a database this run created is ever dropped.
    assert small.drop() is False


def test_the_sizes_are_parsed_sorted_and_checked(capsys):
    from bench.__main__ import added_rows, parse_args

    assert parse_args(["--sizes", "100000,1000,1000000"]).sizes == (1000, 100000, 1000000)
    assert parse_args(["--small", "10", "--patients", "50"]).sizes == (10, 50)
    assert parse_args([]).sizes == (1000, 100000)
    for wrong in ("1000", "a,b", "0,10"):
        with pytest.raises(SystemExit) as exited:
            parse_args(["--sizes", wrong])
        assert exited.value.code == 2
        assert "--sizes" in capsys.readouterr().err.splitlines()[-1]
    summary = "Scale: X has 11,000 patients; added 243,565 rows in 3 min 4 s: ..."
    assert added_rows(summary) == 243565


def test_p95_is_the_nearest_rank_and_each_size_gets_a_column(capsys):
    from bench.__main__ import _table
    from bench.measure import percentile

    assert percentile([5, 1, 4, 2, 3]) == 5
    assert percentile(list(range(1, 101))) == 95
    rows = [
        [{"name": "page", "queries": 9, "ms": 10.0, "p95": 12.0}],
        [{"name": "page", "queries": 9, "ms": 15.0, "p95": 16.0}],
        [{"name": "page", "queries": 9, "ms": 30.0, "p95": 40.0}],
    ]
    _table("request", (1000, 100000, 1000000), rows)
    out = capsys.readouterr().out
    assert "1k ms (p95)" in out
    assert "1M/1k" in out
    assert "1.50" in out
    assert "3.00" in out
