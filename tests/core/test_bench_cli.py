"""The benchmarks are never run by the suite; only their command line is checked."""

import subprocess
import sys
from pathlib import Path

from bench.databases import BenchDatabase

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_bench_help_exits_0():
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "--patients" in completed.stdout
    assert "--reuse" in completed.stdout


def test_the_bench_databases_are_named_after_the_configured_one_never_it():
    small = BenchDatabase.for_size("postgres://postgres@127.0.0.1:5432/ariesone_bench", 1000)
    assert small.name == "ariesone_bench_1000"
    assert small.url == "postgres://postgres@127.0.0.1:5432/ariesone_bench_1000"
    sqlite = BenchDatabase.for_size("sqlite:////tmp/bench.sqlite3", 20000)
    assert sqlite.url == "sqlite:////tmp/bench_20000.sqlite3"
    # Only a database this run created is ever dropped.
    assert small.drop() is False
