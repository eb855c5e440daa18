"""``python -m bench.remittance``: import an 835 of N claim payments; memory and time.

Creates, in its own company of the database it is pointed at, N processing claims
(one CPAP line each) and an 835 paying each (CO-45 + PR-2, REF*6R), then imports it
through ``hme.services.remittance.import_835`` under ``tracemalloc``. Prints the peak
traced memory (MiB) and the time per 1,000 claim payments at a small and the large
size, with the ratios large/small: bounded memory means the peak grows no faster than
the claims (the file's parsed claims are kept; nothing per claim is kept after it is
posted), and flat time per 1,000 means posting does not slow down as the file grows.

    DEBUG=1 .venv/bin/python -m bench.remittance                 # 500 and 5,000 (SQLite)
    DATABASE_URL=postgres://.../ariesone_bench_100000 DEBUG=1 .venv/bin/python -m bench.remittance

Against a bench database (``make bench`` seeds them) it adds its rows to a company of
its own (named "Bench remittance <timestamp>") and leaves them there; on the default
SQLite it uses a temporary file that is removed at the end.
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database_url):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings

    # DEBUG keeps the last 9,000 queries in memory: production does not.
    settings.DEBUG = False


def make_835(claims, trace, payer_id="17003"):
    """An 835 paying each claim 544.00 of 850.00 (CO-45 170.00, PR-2 136.00)."""
    segments = [
        "ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*ARIESONE       "
        "*261110*1200*^*00501*000000001*0*T*:",
        "GS*HP*BENCHPAYER*ARIESONE*20261110*1200*1*X*005010X221A1",
        "ST*835*0001",
    ]
    body = [
        f"BPR*I*{Decimal('544') * len(claims)}*C*ACH*CCP*01*011000015*DA*0001234*1000000001"
        "**01*021000021*DA*0009876*20261110",
        f"TRN*1*{trace}*1000000001",
        "N1*PR*BENCH PAYER",
        f"REF*2U*{payer_id}",
        "N1*PE*BENCH SUPPLY*XX*1234567893",
        "LX*1",
    ]
    for number, day in claims:
        ymd = day.strftime("%Y%m%d")
        body += [
            f"CLP*{number}*1*850*544*136*MB*P{number}*12",
            f"DTM*232*{ymd}",
            "SVC*HC:E0601:NU*850*544**1",
            f"DTM*472*{ymd}",
            "CAS*CO*45*170",
            "CAS*PR*2*136",
            f"REF*6R*{number}-1",
        ]
    segments += body
    segments.append(f"SE*{len(body) + 2}*0001")
    segments += ["GE*1*1", "IEA*1*000000001"]
    return ("~\n".join(segments) + "~\n").encode()


def seed(company, payer, count):
    """``count`` processing claims with one line each, by bulk insert (bench only)."""
    from django.utils import timezone

    from accounts.models import Location
    from clinical.models import Diagnosis, Patient
    from hme.choices import ClaimStatus
    from hme.models import Claim, ClaimLine, ClaimNumberCounter, Coverage
    from hme.models.claims import format_claim_number

    location = Location.objects.create(company=company, name="Bench")
    day = timezone.localdate() - datetime.timedelta(days=20)
    patients = Patient.objects.bulk_create(
        Patient(
            company=company,
            number=f"BR-{i:07d}",
            first_name="Bench",
            last_name=f"Patient{i}",
            dob=datetime.date(1950, 1, 1),
        )
        for i in range(count)
    )
    Diagnosis.objects.bulk_create(
        Diagnosis(company=company, patient=p, code="G4733") for p in patients
    )
    coverages = Coverage.objects.bulk_create(
        Coverage(
            company=company,
            patient=p,
            payer=payer,
            member_id=f"BM{i:09d}",
            effective_date=datetime.date(2024, 1, 1),
            is_active=True,
        )
        for i, p in enumerate(patients)
    )
    now = timezone.now()
    claims = Claim.objects.bulk_create(
        Claim(
            company=company,
            number=format_claim_number(i + 1),
            patient=p,
            coverage=c,
            payer=payer,
            billing_location=location,
            diagnosis_codes=["G4733"],
            status=ClaimStatus.PROCESSING,
            submitted_at=now,
            submission_count=1,
            total_charge=Decimal("850.00"),
        )
        for i, (p, c) in enumerate(zip(patients, coverages, strict=True))
    )
    ClaimNumberCounter.objects.update_or_create(pk=company.pk, defaults={"last_number": count})
    ClaimLine.objects.bulk_create(
        ClaimLine(
            company=company,
            claim=claim,
            line_number=1,
            date_of_service=day,
            hcpcs="E0601",
            modifiers=["NU"],
            units=1,
            charge=Decimal("850.00"),
            diagnosis_pointers=[1],
            # Billed before order lines were linked (no order line to refresh holds of).
            legacy=True,
        )
        for claim in claims
    )
    return [(claim.number, day) for claim in claims]


def measure(count, stamp):
    from accounts.models import Company
    from hme.choices import PayerKind
    from hme.models import Payer
    from hme.services.remittance import import_835

    company = Company.objects.create(name=f"Bench remittance {stamp} {count}")
    payer = Payer.objects.create(
        company=company, name="Bench payer", payer_id="17003", kind=PayerKind.MEDICARE
    )
    claims = seed(company, payer, count)
    data = make_835(claims, trace=f"BENCH{stamp}{count}")
    del claims
    from tqdm import tqdm

    bar = tqdm(total=count, desc=f"835 of {count:,}", unit="claim", file=sys.stderr)
    tracemalloc.start()
    started = time.perf_counter()
    summary = import_835(company, data, file_name="bench.835", progress=bar.update)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    bar.close()
    record = summary.remittances[0]
    if record.posted_amount != Decimal("544") * count:
        raise SystemExit(f"bench: posted {record.posted_amount}, expected {544 * count}")
    return peak / 2**20, elapsed / count * 1000, len(data) / 2**20


def measure_parse(count):
    """Peak traced memory and time of the two streaming passes over an 835 of ``count``
    claim payments (``validate_835`` then ``iter_835``), without the database: what the
    import holds of the file."""
    from hme.edi.x835 import CLAIM, iter_835, validate_835

    day = datetime.date(2026, 11, 2)
    data = make_835([(f"C-{i + 1:06d}", day) for i in range(count)], trace=f"PARSE{count}")
    tracemalloc.start()
    started = time.perf_counter()
    (header,) = validate_835(data)
    seen = sum(1 for kind, _ in iter_835(data) if kind == CLAIM)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if seen != count or header.claims_count != count:
        raise SystemExit(f"bench: parsed {seen} claim payments of {count}")
    return peak / 2**20, elapsed / count * 1000, len(data) / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.remittance", description=__doc__)
    parser.add_argument("--claims", type=int, default=5_000, help="claim payments (large)")
    parser.add_argument("--small", type=int, default=500, help="claim payments (small)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument(
        "--parse-only",
        action="store_true",
        help="only the streaming parse passes (no database): their peak memory",
    )
    options = parser.parse_args(argv)
    if options.parse_only:
        setup_django("sqlite:///:memory:")
        header = f"835 parse       {'claims':>8} {'file MiB':>9} {'peak MiB':>9} {'s / 1,000':>10}"
        print(header, flush=True)
        results = []
        for label, count in (("small", options.small), ("large", options.claims)):
            results.append(measure_parse(count))
            peak, per_thousand, size = results[-1]
            print(f"{label:<15} {count:>8,} {size:>9.2f} {peak:>9.2f} {per_thousand:>10.3f}")
        small, large = results
        print(
            f"ratios large/small: claims {options.claims / options.small:.1f}x, peak memory "
            f"{large[0] / small[0]:.2f}x, time per 1,000 {large[1] / small[1]:.2f}x"
        )
        return
    temporary = None
    url = options.database_url
    if not url:
        handle, temporary = tempfile.mkstemp(suffix=".sqlite3")
        os.close(handle)
        url = f"sqlite:///{temporary}"
    try:
        setup_django(url)
        from core.context import acting_as

        stamp = datetime.datetime.now(datetime.UTC).strftime("%H%M%S")
        header = f"835 import      {'claims':>8} {'file MiB':>9} {'peak MiB':>9} {'s / 1,000':>10}"
        print(header, flush=True)
        results = []
        with acting_as(None):
            for label, count in (("small", options.small), ("large", options.claims)):
                peak, per_thousand, size = measure(count, stamp)
                results.append((peak, per_thousand, size))
                print(
                    f"{label:<15} {count:>8,} {size:>9.2f} {peak:>9.1f} {per_thousand:>10.2f}",
                    flush=True,
                )
        small, large = results
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
    growth = options.claims / options.small
    print(
        f"ratios large/small: claims {growth:.1f}x, peak memory {large[0] / small[0]:.2f}x, "
        f"time per 1,000 {large[1] / small[1]:.2f}x"
    )


if __name__ == "__main__":
    main()
