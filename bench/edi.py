"""Bench: build an 837P for 5,000 claims in bounded memory (``python -m bench.edi``).

Two sources of claims:

- ``--database`` (what ``make bench`` runs on its large database): the demo company's
  claims, loaded through ``hme.edi.data`` exactly as a batch does (chunked iterator
  with prefetches), built by ``generate_837p`` and sealed by ``hme.edi.store`` into a
  temporary file. The database is only read: no batch is recorded, no counter drawn.
  Demo data lacks a few things a real 837P needs, which the bench fills *in memory*
  only (ZIP+4 of the billing location, company tax ID and EDI ids); claims whose
  patient is not the subscriber or that are secondary are skipped (counted).
- synthetic (default without ``--database``): made-up claims, for a quick figure on
  any machine (no database needed).

It prints the peak of Python allocations (tracemalloc) and the time per 1,000 claims
for 1,000 and for ``--claims`` claims, and their ratio: bounded memory means a ratio
near 1 for the peak, whatever the number of claims.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def synthetic_claims(count):
    from hme.edi import x837

    address = x837.Address("100 MAIN ST", "", "COLUMBUS", "OH", "432151234")
    ordering = x837.Person("WELBY", "MARCUS", "1234567893")
    provider = x837.BillingProvider(
        "loc", "ACME MEDICAL SUPPLY", "1558598797", "311234567", address
    )
    payer = x837.PayerInfo("MEDICARE DME MAC B", "17003", "MB")
    for n in range(1, count + 1):
        number = f"C-{n:06d}"
        yield x837.ClaimData(
            number=number,
            billing_provider=provider,
            subscriber=x837.Subscriber(
                f"TESTPATIENT{n}", "ALEX", f"1EG4TE5MK{n % 100:02d}",
                datetime.date(1950, 1, 2), "F", address,
            ),
            payer=payer,
            diagnoses=["G4733", "J449"],
            lines=[
                x837.Line(
                    number=i, hcpcs="E0601", modifiers=["RR", "KH"], charge=Decimal("125.00"),
                    units=1, pointers=[1], service_date=datetime.date(2026, 11, 2),
                    control_number=f"{number}-{i}", ordering_provider=ordering, is_rental=True,
                    length_of_need_months=99, authorization_number="",
                )
                for i in (1, 2)
            ],
            prior_authorization="UTN0000000001",
        )  # fmt: skip


def database_claims(count, skipped):
    from accounts.models import Company
    from hme.choices import CoveragePriority, SubscriberRelation
    from hme.edi import data as edi_data
    from hme.edi.x837 import BillingProvider
    from hme.models import Claim

    company = Company.objects.order_by("created_at").first()
    queryset = (
        Claim.objects.filter(company=company)
        .filter(coverage__subscriber_relation=SubscriberRelation.SELF)
        .filter(coverage__priority=CoveragePriority.PRIMARY)
        .exclude(payer__payer_id="")
    )
    skipped["not self or not primary"] = (
        Claim.objects.filter(company=company).count() - queryset.count()
    )
    ids = list(queryset.order_by("number").values_list("pk", flat=True)[:count])
    if len(ids) < count:
        raise SystemExit(f"bench.edi: the database has {len(ids):,} usable claims, not {count:,}.")
    for claim in edi_data.data_queryset(Claim.objects.filter(pk__in=ids)).iterator(chunk_size=500):
        data = edi_data.claim_data(claim)
        bp = data.billing_provider
        # Demo gaps filled in memory only (see the module docstring).
        address = dataclasses.replace(bp.address, postal_code=(bp.address.postal_code + "0000")[:9])
        provider = BillingProvider(bp.key, bp.name, bp.npi or "1558598797", "311234567", address)
        yield dataclasses.replace(data, billing_provider=provider)


def envelope():
    from hme.edi.x837 import Envelope

    return Envelope(
        sender_qualifier="ZZ", sender_id="SUBMIT01", receiver_qualifier="ZZ",
        receiver_id="CLEARHOUSE", submitter_name="BENCH", submitter_id="SUBMIT01",
        contact_name="BENCH", contact_phone="6145550100", receiver_name="BENCH CLEARINGHOUSE",
        receiver_edi_id="CLEARHOUSE", control_number=1, transaction_control_number="0001",
        reference="B-BENCH", usage="T",
        created=datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC),
    )  # fmt: skip


def build(count, use_database):
    from hme.edi import store
    from hme.edi.x837 import generate_837p

    skipped = {}
    claims = database_claims(count, skipped) if use_database else synthetic_claims(count)
    with tempfile.TemporaryDirectory(prefix="ariesone-bench-edi-") as folder:
        # Timed without tracemalloc (it slows Python several times), then measured with it.
        started = time.perf_counter()
        stored = store.write_sealed(Path(folder) / "bench.x12", generate_837p(envelope(), claims))
        elapsed = time.perf_counter() - started
        sealed = (Path(folder) / "bench.x12").stat().st_size
        claims = database_claims(count, {}) if use_database else synthetic_claims(count)
        tracemalloc.start()
        store.write_sealed(Path(folder) / "bench2.x12", generate_837p(envelope(), claims))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "claims": count,
        "seconds": elapsed,
        "per_1000": elapsed / count * 1000,
        "peak_mib": peak / 1024 / 1024,
        "bytes": stored.size,
        "sealed_bytes": sealed,
        "skipped": skipped,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.edi")
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--database", action="store_true", help="claims of the configured database")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    small = build(1000, options.database)
    large = build(options.claims, options.database)
    source = "database" if options.database else "synthetic"
    print(f"837P build ({source} claims), streamed and sealed (AES-256-GCM chunks):")
    for r in (small, large):
        print(
            f"  {r['claims']:>6,} claims: {r['seconds']:6.2f} s, {r['per_1000']:6.2f} s per 1,000 "
            f"claims, peak {r['peak_mib']:6.2f} MiB (tracemalloc), file {r['bytes'] / 1e6:.1f} MB "
            f"({r['sealed_bytes'] / 1e6:.1f} MB sealed)"
        )
    print(
        f"  ratio {large['claims']:,}/1,000: peak {large['peak_mib'] / small['peak_mib']:.2f}, "
        f"time per 1,000 {large['per_1000'] / small['per_1000']:.2f}"
    )
    if large["skipped"]:
        print(f"  skipped: {large['skipped']}")


if __name__ == "__main__":
    main()
