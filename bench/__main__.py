"""``python -m bench`` (``make bench``): seed one database per size, measure the same
requests on each, print one column per size with the ratios to the smallest.

    make bench                                        # 1,000 and 100,000 patients
    make bench BENCH_ARGS="--sizes 1000,100000,1000000"   # and 1M (developers' machines)
    make bench BENCH_ARGS="--patients 20000"          # 1,000 and a quicker large size
    make bench BENCH_ARGS="--reuse"                   # measure the databases seeded before

Each request shows its best time of ``--runs`` and, beside it, the 95th percentile.

The databases are ``<name>_<patients>`` on the server of ``--database-url`` (default:
``BENCH_DATABASE_URL``, else ``DATABASE_URL``, else
postgres://postgres@127.0.0.1:5432/ariesone_bench): the configured database itself is
never written. Missing ones are created and seeded (``migrate`` and ``seed_demo
--scale``); an existing one is measured only with ``--reuse`` (topped up to its size
first). ``--drop`` drops, at the end, the databases this run created; nothing else is
ever dropped. Exits non-zero with a one-line message when something fails.
"""

import argparse
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
        "--sizes",
        type=_sizes,
        default=None,
        metavar="N,N[,N...]",
        help="patients of each database, comma-separated (e.g. 1000,100000,1000000); "
        "overrides --small/--patients",
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
        "--runs",
        type=int,
        default=5,
        help="timed runs per request; the best and the 95th percentile are kept",
    )
    parser.add_argument("--skip-backup", action="store_true", help="do not time a backup")
    parser.add_argument("--skip-quality", action="store_true", help="do not time run_data_quality")
    parser.add_argument("--skip-edi", action="store_true", help="do not time the 837P build")
    options = parser.parse_args(argv)
    if options.sizes is None:
        if options.small < 1 or options.patients <= options.small:
            parser.error("--patients must be larger than --small, and both at least 1.")
        options.sizes = (options.small, options.patients)
    if options.runs < 1:
        parser.error("--runs must be at least 1.")
    options.database_url = options.database_url or DEFAULT_URL
    return options


def _sizes(value):
    """``1000,100000`` -> (1000, 100000): at least two distinct sizes, ascending."""
    try:
        sizes = sorted({int(part.replace("_", "")) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes takes numbers of patients separated by commas, not {value!r}."
        ) from None
    if len(sizes) < 2 or sizes[0] < 1:
        raise argparse.ArgumentTypeError("--sizes needs at least two sizes of 1 or more.")
    return tuple(sizes)


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
    summary = output.strip().splitlines()[-1]
    print(f"  {summary}")
    database.vacuum_analyze()
    if reused:
        return None
    # The largest child so far: the seeding of the biggest database (kilobytes).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": elapsed, "peak_mib": peak, "rows_per_s": added_rows(summary) / elapsed}


def added_rows(summary):
    """The rows ``seed_demo --scale`` reports added ("... added 2,760,000 rows in ...")."""
    import re

    match = re.search(r"added ([\d,]+) rows", summary)
    return int(match.group(1).replace(",", "")) if match else 0


def measure(database, options):
    print(f"Measuring {database.name}:")
    result = commands.child_result(
        "bench.measure", database.url, ["--runs", str(options.runs)], MARKER, database.name
    )
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


def ratio(value, base):
    return f"{value / base:.2f}" if base else "-"


def _size_label(size):
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{name}"
    return f"{size:,}"


def _table(title, sizes, rows_by_size):
    """One table: a row per request, per size its best (p95) ms, then the ratios of
    each larger size to the smallest."""
    labels = [_size_label(size) for size in sizes]
    cells = [f"{label} ms (p95)" for label in labels]
    ratios = [f"{label}/{labels[0]}" for label in labels[1:]]
    print()
    print(
        f"{title:<45} {'queries':>9} "
        + " ".join(f"{cell:>19}" for cell in cells)
        + " "
        + " ".join(f"{cell:>9}" for cell in ratios)
    )
    first = rows_by_size[0]
    for index, row in enumerate(first):
        same = [rows[index] for rows in rows_by_size]
        counts = [str(item["queries"]) for item in same]
        queries = counts[0] if len(set(counts)) == 1 else "/".join(counts)
        times = [f"{item['ms']:8.1f} ({item.get('p95', item['ms']):8.1f})" for item in same]
        print(
            f"{row['name']:<45} {queries:>9} "
            + " ".join(f"{cell:>19}" for cell in times)
            + " "
            + " ".join(f"{ratio(item['ms'], row['ms']):>9}" for item in same[1:])
        )


def report(options, sizes, results, seeding):
    first = results[sizes[0]]
    today = datetime.now(UTC).astimezone().date().isoformat()
    print()
    print(
        f"AriesOne benchmarks, {today}, {platform.node()} "
        f"({os.cpu_count()} CPUs, {_memory()}), {first['vendor']}; best of {options.runs} "
        f"runs, p95 in brackets."
    )
    print()
    print(f"{'':<45} " + " ".join(f"{_size_label(size):>12}" for size in sizes))
    for label in first["counts"]:
        print(f"{label:<45} " + " ".join(f"{results[s]['counts'][label]:>12,}" for s in sizes))
    print(
        f"{'database size':<45} " + " ".join(f"{mib(results[s]['size_bytes']):>12}" for s in sizes)
    )
    seeded = [seeding.get(size) for size in sizes]
    if any(value is not None for value in seeded):
        cells = [f"{value['seconds']:,.0f} s" if value else "reused" for value in seeded]
        print(
            f"{'seed_demo --scale (incl. the normal demo)':<45} "
            + " ".join(f"{c:>12}" for c in cells)
        )
        cells = [f"{value['rows_per_s']:,.0f}" if value else "-" for value in seeded]
        print(f"{'  rows/s of the bulk part':<45} " + " ".join(f"{c:>12}" for c in cells))
        cells = [f"{value['peak_mib']:,.0f} MiB" if value else "-" for value in seeded]
        print(
            f"{'  peak memory (largest child so far)':<45} " + " ".join(f"{c:>12}" for c in cells)
        )
    # Rows grouped by section, in the order the measurements produced them.
    sections = {}
    for index, row in enumerate(first["requests"]):
        sections.setdefault(row.get("section", "request"), []).append(index)
    for title, indexes in sections.items():
        rows_by_size = [[results[size]["requests"][i] for i in indexes] for size in sizes]
        _table(title, sizes, rows_by_size)
    print()
    readiness.report(sizes, results)
    commands_rows = []
    for key, label in (("data_quality", "run_data_quality"), ("backup", "backup")):
        if key in first:
            commands_rows.append(
                [
                    {"name": label, "queries": "-", "ms": results[size][key]["seconds"] * 1000}
                    for size in sizes
                ]
            )
    if commands_rows:
        _table("command", sizes, [list(column) for column in zip(*commands_rows, strict=True)])
    largest = sizes[-1]
    if "data_quality" in results[largest]:
        quality = results[largest]["data_quality"]
        print(
            f"\nrun_data_quality at {largest:,} patients: {quality['seconds']:.1f} s, peak "
            f"{quality['peak_mib']:.0f} MiB, exit {quality['exit']}: {quality['summary']}"
        )
    if "backup" in results[largest]:
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
    sizes = options.sizes
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
