"""Import a payer's fee schedule from a file in the layout of the CMS DMEPOS fee
schedule (HCPCS, MOD, MOD2, one fee column per state: "OH (NR)", "OH (R)")."""

import datetime
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.exceptions import ServiceError
from hme import services
from hme.models import Payer
from hme.services.fees import ImportResult


def iso_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--effective-from takes a date as 2026-01-01; got {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Import a fee schedule CSV in the CMS DMEPOS layout for one payer and state: every "
        "row is checked first and a bad row (shown with its row number) imports nothing; "
        "the payer's earlier open-ended fees for the same codes end the day before."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (DMEPOS fee schedule layout).")
        parser.add_argument("--payer", required=True, help="The payer's id (UUID).")
        parser.add_argument(
            "--state", default="", help="Two-letter state of the fee column (default: the payer's)."
        )
        parser.add_argument(
            "--rural", action="store_true", help="Use the rural column (R) instead of NR."
        )
        parser.add_argument(
            "--effective-from",
            type=iso_date,
            required=True,
            help="First day the fees are in force, as 2026-01-01.",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}.")
        try:
            payer_id = uuid.UUID(str(options["payer"]))
        except ValueError:
            raise CommandError(
                f"--payer takes the payer's id (a UUID); got {options['payer']!r}."
            ) from None
        payer = Payer.objects.select_related("company").filter(pk=payer_id).first()
        if payer is None:
            raise CommandError(f"No payer with id {payer_id}.")
        state = (options["state"] or payer.state or "").strip().upper()
        if len(state) != 2 or not state.isalpha():
            raise CommandError("Give --state as two letters (the payer has no state of its own).")
        effective_from = options["effective_from"]
        if isinstance(effective_from, str):  # call_command skips argparse's type
            effective_from = iso_date(effective_from)
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                total = max(0, sum(1 for _ in handle) - 1)
                handle.seek(0)
                with tqdm(
                    total=total, desc="Reading fees", unit="row", file=self.stderr, disable=None
                ) as bar:
                    rows, skipped = services.read_fee_rows(
                        handle, state=state, rural=options["rural"], progress=bar.update
                    )
            created, closed = services.import_fee_schedule(
                payer.company,
                payer,
                rows,
                state=state,
                effective_from=effective_from,
                source=path.name,
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        except UnicodeDecodeError:
            raise CommandError(f"{path.name} is not a UTF-8 text file: nothing imported.") from None
        result = ImportResult(created=created, closed=closed, skipped=skipped)
        self.stdout.write(self.style.SUCCESS(result.summary(payer, state)))
