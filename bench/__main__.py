"""``python -m bench`` (``make bench``): seed a small and a large database, measure the
same requests on both, print the times and the ratio large/small.

    make bench                                  # 1,000 and 100,000 patients
    make bench BENCH_ARGS="--patients 20000"    # a quicker large size
    make bench BENCH_ARGS="--reuse"             # measure the databases seeded before

The databases are ``<name>_<patients>`` on the server of ``--database-url`` (default:
``BENCH_DATABASE_URL``, else ``DATABASE_URL``, else
postgres://postgres@127.0.0.1:5432/ariesone_bench): the configured database itself is
never written. Missing ones are created and seeded (``migrate`` and ``seed_demo
--scale``); an existing one is measured only with ``--reuse`` (topped up to its size
first). ``--drop`` drops, at the end, the databases this run created; nothing else is
ever dropped. Exits non-zero with a one-line message when something fails.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from . import cache, cockpit, commands, readiness
from .databases import DEFAULT_URL, BenchDatabase
from .measure import MARKER

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of staff pages, API calls and operator commands at two "
        "database sizes; prints each time at both sizes and the ratio large/small (near 1: "
        "the page does not grow with the tables).",
    )
    parser.add_argument(
        "--patients",
        type=int,
        default=100_000,
        metavar="N",
        help="patients of the large database (default 100,000: about 150,000 orders and "
        "300,000 claims)",
    )
    parser.add_argument(
        "--small", type=int, default=1_000, metavar="N", help="patients of the small one"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL"),
        help=f"server and base name of the bench databases (default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure bench databases that already exist (topped up to their size)",
    )
    parser.add_argument(
        "--drop", action="store_true", help="drop the databases this run created, at the end"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs per request; the best is kept"
    )
    parser.add_argument("--skip-backup", action="store_true", help="do not time a backup")
    parser.add_argument("--skip-quality", action="store_true", help="do not time run_data_quality")
    parser.add_argument("--skip-edi", action="store_true", help="do not time the 837P build")
    options = parser.parse_args(argv)
    if options.small < 1 or options.patients <= options.small:
        parser.error("--patients must be larger than --small, and both at least 1.")
    options.database_url = options.database_url or DEFAULT_URL
    return options


def manage(database, *arguments):
    """Run ``manage.py`` on the bench database; stderr (progress bars) goes through."""
    env = {**os.environ, "DATABASE_URL": database.url, "DEBUG": "1"}
    completed = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode:
        last = (completed.stdout.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(
            f"bench: manage.py {' '.join(arguments)} failed on {database.name}: {last}"
        )
    return completed.stdout


def prepare(database, patients, options):
    """Create, migrate and seed the database; return the seeding's time and peak
    memory (None if reused)."""
    reused = False
    if database.exists():
        if not options.reuse:
            raise SystemExit(
                f"bench: {database.name} exists. Pass --reuse to measure it (topped up to "
                f"{patients:,} patients), or drop it first."
            )
        print(f"Reusing {database.name}; topping it up to {patients:,} patients if needed.")
        reused = True
    else:
        print(f"Creating {database.name} and seeding {patients:,} patients.")
        database.create()
    manage(database, "migrate", "--no-input", "-v", "0")
    started = time.perf_counter()
    output = manage(database, "seed_demo", "--scale", str(patients))
    elapsed = time.perf_counter() - started
    print(f"  {output.strip().splitlines()[-1]}")
    database.vacuum_analyze()
    if reused:
        return None
    # The largest child so far: the seeding of the biggest database (kilobytes).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": elapsed, "peak_mib": peak}


def measure(database, options):
    env = {**os.environ, "DATABASE_URL": database.url, "DEBUG": "1"}
    arguments = ["--runs", str(options.runs)]
    print(f"Measuring {database.name}:")
    completed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.measure", *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(MARKER)]
    if completed.returncode or not lines:
        raise SystemExit(f"bench: measuring {database.name} failed (exit {completed.returncode}).")
    result = json.loads(lines[-1][len(MARKER) :])
    result["size_bytes"] = database.size_bytes()
    if not options.skip_quality:
        print(f"  run_data_quality on {database.name}")
        result["data_quality"] = commands.data_quality(database)
    if not options.skip_backup:
        print(f"  backup of {database.name}")
        result["backup"] = commands.backup(database)
    if not options.skip_edi:
        print(f"  837P build of 5,000 claims from {database.name}")
        result["edi"] = commands.edi_build(database)
    return result


def mib(size):
    return f"{size / 1024 / 1024:,.0f} MiB"


def ratio(large, small):
    return f"{large / small:6.2f}" if small else "     -"


def report(options, sizes, results, seeding):
    small, large = (results[size] for size in sizes)
    today = datetime.now(UTC).astimezone().date().isoformat()
    print()
    print(
        f"AriesOne benchmarks, {today}, {platform.node()} "
        f"({os.cpu_count()} CPUs, {_memory()}), {small['vendor']}; best of {options.runs} runs."
    )
    print()
    for label in small["counts"]:
        print(f"{label:<45} {small['counts'][label]:>12,} {large['counts'][label]:>12,}")
    print(f"{'database size':<45} {mib(small['size_bytes']):>12} {mib(large['size_bytes']):>12}")
    seeded = [seeding.get(size) for size in sizes]
    if any(value is not None for value in seeded):
        cells = [f"{value['seconds']:,.0f} s" if value else "reused" for value in seeded]
        print(f"{'seed_demo --scale (incl. the normal demo)':<45} {cells[0]:>12} {cells[1]:>12}")
        if seeded[1]:
            peak = f"{seeded[1]['peak_mib']:,.0f} MiB"
            print(f"{'  peak memory of the seeding':<45} {'':>12} {peak:>12}")
    print()
    print(f"{'request':<45} {'queries':>9} {'small ms':>10} {'large ms':>10} {'ratio':>7}")
    for before, after in zip(small["requests"], large["requests"], strict=True):
        queries = f"{before['queries']}/{after['queries']}"
        if before["queries"] == after["queries"]:
            queries = str(before["queries"])
        print(
            f"{before['name']:<45} {queries:>9} {before['ms']:>10.1f} {after['ms']:>10.1f} "
            f"{ratio(after['ms'], before['ms']):>7}"
        )
    if "readiness" in small:
        readiness.report(sizes, results)
        print()

    for key, label in (("data_quality", "run_data_quality"), ("backup", "backup")):
        if key in small:
            before, after = small[key], large[key]
            print(
                f"{label:<45} {'':>9} {before['seconds'] * 1000:>10.0f} "
                f"{after['seconds'] * 1000:>10.0f} {ratio(after['seconds'], before['seconds']):>7}"
            )
    if "data_quality" in large:
        quality = large["data_quality"]
        print(
            f"\nrun_data_quality at {sizes[1]:,} patients: {quality['seconds']:.1f} s, peak "
            f"{quality['peak_mib']:.0f} MiB, exit {quality['exit']}: {quality['summary']}"
        )
    if "backup" in large:
        for size in sizes:
            backup = results[size]["backup"]
            print(
                f"backup at {size:,} patients: {mib(backup['bytes'])} in "
                f"{backup['seconds']:.1f} s, peak {backup['peak_mib']:.0f} MiB (file deleted), "
                f"exit {backup['exit']}"
            )


def report_edi(sizes, results):
    for size in sizes:
        edi = results[size].get("edi")
        if edi is not None:
            print(f"\n837P at {size:,} patients (python -m bench.edi --database):")
            for line in edi["lines"]:
                print(f"  {line.strip()}")


def _memory():
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return "memory unknown"
    return f"{pages / 1024**3:.0f} GiB RAM"


def main(argv=None):
    options = parse_args(argv)
    sizes = (options.small, options.patients)
    databases = {size: BenchDatabase.for_size(options.database_url, size) for size in sizes}
    seeding, results = {}, {}
    try:
        for size in sizes:
            seeding[size] = prepare(databases[size], size, options)
        for size in sizes:
            results[size] = measure(databases[size], options)
            results[size]["vendor"] = databases[size].vendor
    finally:
        if options.drop:
            for database in databases.values():
                if database.drop():
                    print(f"Dropped {database.name} (created by this run).")
    report(options, sizes, results, seeding)
    if "cockpit" in results[sizes[0]]:
        cockpit.report(sizes, results)
    cache.report(sizes, results)
    report_edi(sizes, results)


if __name__ == "__main__":
    main()
