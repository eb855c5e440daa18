"""wrk against gunicorn: requests/s of ``/health/`` and an API list with persistent
connections off, on (``CONN_MAX_AGE=60``) and with psycopg's pool (``DATABASE_POOL=1``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aries_bench_1000 python -m bench.pool

Needs PostgreSQL with the demo data (``seed_demo``; the bench databases of ``make
bench`` have it) and Debian's ``wrk`` (``apt-get install wrk``). Each configuration
starts its own gunicorn (``--workers``, sync workers) on a free port, runs wrk for
``--seconds`` per URL with ``--connections`` and stops it. Prints one line per run and
a table. Exits non-zero with one line when something is missing.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER = "administrator@demo.ariesone.test"
CONFIGS = [
    ("no persistence (CONN_MAX_AGE=0)", {"DATABASE_POOL": "0", "DATABASE_CONN_MAX_AGE": "0"}),
    ("persistent (CONN_MAX_AGE=60)", {"DATABASE_POOL": "0", "DATABASE_CONN_MAX_AGE": "60"}),
    ("pool (DATABASE_POOL=1, 2-4)", {"DATABASE_POOL": "1"}),
]


def token(database_url):
    """An access token of the demo Administrator (made in a child with that database)."""
    code = (
        "import django; django.setup();"
        "from rest_framework_simplejwt.tokens import RefreshToken;"
        "from accounts.models import User;"
        "from accounts.authentication import COMPANY_CLAIM;"
        f"u = User.objects.get(email={USER!r});"
        "m = u.memberships.order_by('created_at').first();"
        "r = RefreshToken.for_user(u); r[COMPANY_CLAIM] = str(m.company_id);"
        "print(r.access_token)"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    done = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise SystemExit(f"bench.pool: no token ({last})")
    return done.stdout.strip().splitlines()[-1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(database_url, extra, workers, port):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "API_THROTTLE_USER": "10000000/minute",
        "API_THROTTLE_ANON": "10000000/minute",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    process = subprocess.Popen(  # noqa: S603 - gunicorn from our venv
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=1)
            return process
        except OSError:
            if process.poll() is not None:
                output = process.stderr.read()[-300:]
                raise SystemExit(f"bench.pool: gunicorn exited: {output!r}") from None
            time.sleep(0.2)
    stop(process)
    raise SystemExit("bench.pool: gunicorn did not answer /health/ in 20 s.")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


def wrk(url, seconds, connections, header=None):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url]
    if header:
        command[1:1] = ["-H", header]
    done = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if not rate:
        raise SystemExit(f"bench.pool: wrk printed no rate: {done.stdout[-300:]!r}")
    return float(rate.group(1)), int(errors.group(1)) if errors else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.pool", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--api", default="/api/v1/payers/", help="the API list measured")
    options = parser.parse_args(argv)
    database_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("bench.pool: set DATABASE_URL to a seeded PostgreSQL database.")
    if not shutil.which("wrk"):
        raise SystemExit("bench.pool: wrk is not installed (apt-get install wrk).")
    bearer = f"Authorization: Bearer {token(database_url)}"
    rows = []
    for label, extra in CONFIGS:
        port = free_port()
        process = start(database_url, extra, options.workers, port)
        try:
            base = f"http://127.0.0.1:{port}"
            health, _ = wrk(f"{base}/health/", options.seconds, options.connections)
            api, errors = wrk(f"{base}{options.api}", options.seconds, options.connections, bearer)
        finally:
            stop(process)
        rows.append((label, health, api, errors))
        sys.stderr.write(f"  {label:<34} /health/ {health:8.0f}/s  {options.api} {api:8.0f}/s\n")
    print(
        f"\nwrk -t2 -c{options.connections} -d{options.seconds}s, gunicorn -w {options.workers} "
        f"(sync), {os.cpu_count()} CPUs"
    )
    print(f"{'connections':<34} {'/health/ req/s':>15} {options.api + ' req/s':>24} {'non-2xx':>8}")
    for label, health, api, errors in rows:
        print(f"{label:<34} {health:>15,.0f} {api:>24,.0f} {errors:>8}")


if __name__ == "__main__":
    main()
