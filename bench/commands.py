"""Time an operator command (``manage.py ...``) on a bench database: wall time, exit
status, peak memory and its last line of output.

Run from the orchestrator, a small process: each command's own peak resident memory
comes from ``wait4`` for that child alone (a child forked from a big process would
first count its parent's pages).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import Popen

ROOT = Path(__file__).resolve().parent.parent


def run(database, *arguments, env=None):
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = Popen(  # noqa: S603 - our own manage.py, fixed arguments
            [sys.executable, str(ROOT / "manage.py"), *arguments],
            env={**os.environ, "DATABASE_URL": database.url, "DEBUG": "1", **(env or {})},
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines() or [""]
        if child.returncode:
            lines = err.read().strip().splitlines() or lines
    return {
        "seconds": elapsed,
        "exit": child.returncode,
        "peak_mib": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "summary": lines[-1],
    }


def child_result(module, url, arguments, marker, name):
    """Run ``python -m module arguments`` on the database at ``url`` (DEBUG on, and
    ``MFA_ENFORCE=0``: the demo users have no second factor, as in .env.example) and
    return the JSON it printed after ``marker`` on its last such line; exits with one
    line naming ``name`` when the child fails or prints none."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "MFA_ENFORCE": "0"}
    completed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(marker)]
    if completed.returncode or not lines:
        raise SystemExit(f"bench: measuring {name} failed (exit {completed.returncode}).")
    return json.loads(lines[-1][len(marker) :])


def data_quality(database):
    return run(database, "run_data_quality")


def backup(database):
    """One ``manage.py backup`` into a temporary BACKUP_DIR, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="ariesone-bench-backup-") as directory:
        result = run(database, "backup", "--no-prune", env={"BACKUP_DIR": directory})
        files = [path for path in Path(directory).iterdir() if path.is_file()]
        result["bytes"] = sum(path.stat().st_size for path in files)
    return result


def edi_build(database, claims=5000):
    """``python -m bench.edi --database``: an 837P of ``claims`` claims built from the
    bench database (read only), its peak memory and time per 1,000 claims."""
    completed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.edi", "--database", "--claims", str(claims)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database.url, "DEBUG": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = (completed.stdout or completed.stderr).strip().splitlines() or ["(no output)"]
    return {"exit": completed.returncode, "lines": lines}
