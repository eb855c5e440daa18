"""Load (or refresh) the ICD-10-CM code table from the simple-icd-10-cm package."""

import datetime
import re
import warnings
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from clinical.models import ICD10Code
from clinical.reference import invalidate_icd10
from core.validators import normalize_icd10

MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
BATCH = 2000


def package_release(module) -> datetime.date | None:
    """The date the package's code list takes effect, read from its data file's name
    (``code-list-April-2026.txt`` -> 2026-04-01); None when it cannot be told."""
    for path in (Path(module.__file__).parent / "data").glob("code-list-*.txt"):
        match = re.match(r"code-list-([A-Za-z]+)-(\d{4})", path.name)
        if match and match.group(1).lower() in MONTHS:
            return datetime.date(int(match.group(2)), MONTHS[match.group(1).lower()], 1)
    return None


def package_codes(only=None):
    """(code without dot, description, billable) of every category, subcategory and
    7th-character code of the package (chapters and blocks are not codes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package imports pkg_resources
        import simple_icd_10_cm as cm
    wanted = {normalize_icd10(code) for code in only} if only else None
    rows = {}
    for code in cm.get_all_codes(with_dots=False):
        # A one-category block (B10) is listed under the category's name as well: once.
        if code in rows or (wanted is not None and code not in wanted):
            continue
        if not (cm.is_category_or_subcategory(code) or cm.is_extended_subcategory(code)):
            continue
        rows[code] = (code, cm.get_description(code)[:400], cm.is_leaf(code))
    return list(rows.values()), package_release(cm)


def iso_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Give the date as 2026-04-01; got {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Load the ICD-10-CM code table (codes, descriptions, billable = leaf code) from the "
        "pinned simple-icd-10-cm package. Safe to run again: a code the new release no "
        "longer lists gets an end date (the day before the release), a new code starts on "
        "the release date, the others are refreshed. The first load leaves the start date "
        "empty (in force before this release)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--release-date",
            type=iso_date,
            help="When the package's release takes effect (default: read from the package).",
        )
        parser.add_argument(
            "--only",
            nargs="+",
            metavar="CODE",
            help="Load only these codes (as G47.33), and end no other: for tests and trials.",
        )

    def handle(self, *args, **options):
        rows, release = package_codes(options["only"])
        release = options["release_date"] or release
        if isinstance(release, str):  # call_command(..., release_date="...") skips argparse
            release = iso_date(release)
        if release is None:
            raise CommandError("Cannot tell the package's release date: pass --release-date.")
        if not rows:
            raise CommandError("The package listed no code to load.")
        label = release.isoformat()
        first_load = not ICD10Code.objects.exists()
        existing = {
            code.code: code
            for code in ICD10Code.objects.only(
                "id", "code", "description", "billable", "effective_to"
            )
        }
        created = updated = ended = 0
        seen = set()
        with transaction.atomic():
            new, changed = [], []
            for code, description, billable in tqdm(
                rows, desc="ICD-10-CM codes", unit="code", file=self.stderr, disable=None
            ):
                seen.add(code)
                row = existing.get(code)
                if row is None:
                    new.append(
                        ICD10Code(
                            code=code,
                            description=description,
                            billable=billable,
                            effective_from=None if first_load else release,
                            release=label,
                        )
                    )
                elif (
                    row.description != description
                    or row.billable != billable
                    or row.effective_to is not None
                ):
                    row.description, row.billable, row.effective_to = description, billable, None
                    row.release = label
                    changed.append(row)
            ICD10Code.objects.bulk_create(new, batch_size=BATCH)
            ICD10Code.objects.bulk_update(
                changed, ["description", "billable", "effective_to", "release"], batch_size=BATCH
            )
            created, updated = len(new), len(changed)
            if not options["only"]:
                gone = [code for code in existing if code not in seen]
                ended = (
                    ICD10Code.objects.filter(code__in=gone, effective_to__isnull=True)
                    .exclude(effective_from__gt=release - datetime.timedelta(days=1))
                    .update(effective_to=release - datetime.timedelta(days=1))
                )
            # Bulk writes send no signals: every cached code goes in one write.
            invalidate_icd10()
        self.stdout.write(
            self.style.SUCCESS(
                f"ICD-10-CM release {label}: {len(rows):,} codes read, {created:,} added, "
                f"{updated:,} updated, {ended:,} ended, "
                f"{len(rows) - created - updated:,} unchanged."
            )
        )
