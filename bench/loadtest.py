"""``python -m bench.loadtest`` (``make loadtest``): requests per second of API pages under
wrk against a local gunicorn, as ratios to the trivial ``/health/`` on the same server.

    make loadtest LOADTEST_ARGS="--database-url postgres://postgres@127.0.0.1:5432/aries_bench_100000"

Starts gunicorn (``--workers``, default 4) on 127.0.0.1 with the bench database (the
application of ``bench.wsgi``: the project's, without DEBUG's per-query recording, a
bench artefact; ``--debug`` serves ``config.wsgi`` as it is), runs wrk
(Debian package ``wrk``: ``apt-get install wrk``) for ``--duration`` seconds with
``--connections`` connections on each URL, then stops the server it started (by its
process id). The database must be a bench copy (``seed_demo --scale``): the API pages
append access-log rows. Target (issue 19 item 5): the orders first page at >= 10% of
``/health/``'s requests per second. Exits non-zero with one line when something fails.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = (
    ("orders: first page", "/api/v1/orders/"),
    ("patients: first page", "/api/v1/patients/"),
    ("payments: first page", "/api/v1/payments/"),
)
TARGET = 0.10  # the orders page's share of /health/'s requests per second


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL"),
        help="a seeded bench database (default BENCH_DATABASE_URL, else DATABASE_URL)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds per URL")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="serve config.wsgi with DEBUG's query recording (default: bench.wsgi, without)",
    )
    options = parser.parse_args(argv)
    if not options.database_url:
        parser.error("give --database-url (a bench database) or set BENCH_DATABASE_URL.")
    return options


def server_env(database_url):
    """The gunicorn's environment: the bench database, the demo's settings (DEBUG=1: the
    dev keys the seeded data was encrypted with), throttles out of the way."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "MFA_ENFORCE": "0",
        "API_THROTTLE_USER": "10000000/minute",
        "API_THROTTLE_ANON": "10000000/minute",
    }


def bearer_token(env):
    """A JWT of the demo administrator, made by a child process on the bench database."""
    code = (
        "import django; django.setup()\n"
        "from bench.measure import ADMINISTRATOR, company\n"
        "from accounts.authentication import COMPANY_CLAIM\n"
        "from accounts.models import User\n"
        "from rest_framework_simplejwt.tokens import RefreshToken\n"
        "refresh = RefreshToken.for_user(User.objects.get(email=ADMINISTRATOR))\n"
        "refresh[COMPANY_CLAIM] = str(company().pk)\n"
        "print(refresh.access_token)\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit("loadtest: could not make a token on the bench database (seeded?).")
    return result.stdout.strip().splitlines()[-1]


def wait_until_serving(port, process, workers, seconds=120):
    """Until ``/health/`` answers 200 as many times in a row as there are workers
    (gunicorn binds before its workers have imported Django)."""
    url = f"http://127.0.0.1:{port}/health/"
    deadline = time.monotonic() + seconds
    answered = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("loadtest: gunicorn stopped while starting (see its stderr).")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                answered = answered + 1 if response.status == 200 else 0
        except OSError:
            answered = 0
            time.sleep(0.5)
        if answered >= workers * 2:
            return
    raise SystemExit(f"loadtest: gunicorn did not serve {url} in {seconds} s.")


def wrk(options, url, token=None):
    command = [
        "wrk",
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{options.duration}s",
        "--latency",
    ]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command.append(f"http://127.0.0.1:{options.port}{url}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if result.returncode != 0 or rate is None:
        raise SystemExit(f"loadtest: wrk failed on {url}.")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", result.stdout)
    p99 = re.search(r"99%\s+([\d.]+\w+)", result.stdout)
    return float(rate.group(1)), int(errors.group(1)) if errors else 0, p99.group(1) if p99 else "-"


def main(argv=None):
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("loadtest: wrk is not installed (apt-get install wrk).")
    env = server_env(options.database_url)
    token = bearer_token(env)
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi" if options.debug else "bench.wsgi",
            f"--workers={options.workers}",
            f"--bind=127.0.0.1:{options.port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    rows = []
    try:
        wait_until_serving(options.port, server, options.workers)
        targets = [("health", "/health/", None)] + [(n, u, token) for n, u in PAGES]
        for index, (name, url, bearer) in enumerate(targets, 1):
            sys.stderr.write(f"\r  [{index}/{len(targets)}] {name:<30}")
            wrk(options, url, bearer)  # warm-up pass (plans, caches), not kept
            rows.append((name, *wrk(options, url, bearer)))
        sys.stderr.write("\r" + " " * 50 + "\r")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    health = rows[0][1]
    if not health:
        raise SystemExit("loadtest: /health/ served no request (server overloaded?).")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"gunicorn {options.workers} workers ({'config' if options.debug else 'bench'}.wsgi), "
        f"wrk {options.connections} connections, {options.duration} s a URL; "
        f"load average {load}"
    )
    print(f"{'URL':<30} {'req/s':>9} {'x /health/':>11} {'non-2xx':>8} {'p99':>9}")
    for name, rate, errors, p99 in rows:
        print(f"{name:<30} {rate:9.1f} {rate / health:10.1%} {errors:8d} {p99:>9}")
    orders = rows[1][1] / health
    verdict = "meets" if orders >= TARGET else "misses"
    print(f"summary: orders first page at {orders:.1%} of /health/ ({verdict} the 10% target)")
    if any(errors for _, _, errors, _ in rows):
        raise SystemExit("loadtest: some responses were not 2xx (see non-2xx above).")


if __name__ == "__main__":
    main()
