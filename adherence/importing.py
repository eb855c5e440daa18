"""Reading a device maker's nightly usage export (CSV) into rows, refusing bad lines.

ResMed AirView and Philips Care Orchestrator both export one row a night with the
date, the hours used, the AHI and a leak figure, under slightly different headings,
often after a few preamble lines naming the device ("Serial Number,23221D1234") or
the patient ("Patient ID,P-000042"). This module only parses; ``services`` matches the
file to a rental and stores it. Messages name line numbers and columns, never the
values of identifiers.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.exceptions import ServiceError

from .choices import UsageSource

MAX_BYTES = 2 * 1024 * 1024  # a year of nights is ~20 KB
MAX_ERRORS_SHOWN = 20

DATE_HEADINGS = {"date", "night", "session date", "therapy date", "usage date", "day"}
HOURS_HEADINGS = {
    "hours used",
    "usage hours",
    "usage",
    "usage h",
    "usage hours h",
    "hours",
    "therapy hours",
    "total usage hours",
    "used hours",
    "usage hh mm",
}
AHI_HEADINGS = {"ahi", "ahi events h", "ahi events hr", "ahi events hour", "apnea hypopnea index"}
SERIAL_KEYS = {
    "serial",
    "serial number",
    "device serial",
    "device serial number",
    "sn",
    "device sn",
}
PATIENT_KEYS = {
    "patient",
    "patient id",
    "patient reference",
    "patient ref",
    "patient number",
    "patient no",
}


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).split())


@dataclass(frozen=True)
class ParsedNight:
    line: int
    night: datetime.date
    hours: Decimal
    ahi: Decimal | None
    leak: Decimal | None


@dataclass
class ParsedFile:
    nights: list[ParsedNight] = field(default_factory=list)
    serial: str = ""
    patient_reference: str = ""
    source: str = UsageSource.OTHER


def _parse_date(text: str) -> datetime.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d-%b-%Y", "%Y/%m/%d"):
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a date)
        except ValueError:
            continue
    raise ValueError(f"the date {text!r} is not a date (2026-03-31 or 03/31/2026)")


def _parse_hours(text: str) -> Decimal:
    text = text.strip()
    if not text:
        raise ValueError("the hours used are empty")
    if ":" in text:  # h:mm or h:mm:ss
        parts = text.split(":")
        if not all(p.isdigit() for p in parts) or len(parts) > 3:
            raise ValueError(f"the hours used {text!r} are not a duration (6.5 or 6:30)")
        hours = Decimal(int(parts[0])) + Decimal(int(parts[1])) / 60
        if len(parts) == 3:
            hours += Decimal(int(parts[2])) / 3600
        value = hours.quantize(Decimal("0.01"))
    else:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"the hours used {text!r} are not a number") from None
        if not value.is_finite():
            raise ValueError(f"the hours used {text!r} are not a number")
        value = value.quantize(Decimal("0.01"))
    if not Decimal(0) <= value <= Decimal(24):
        raise ValueError(f"the hours used ({text}) must be between 0 and 24")
    return value


def _parse_measure(text: str, name: str, limit: Decimal) -> Decimal | None:
    text = (text or "").strip()
    if not text or text in {"-", "--", "n/a", "N/A"}:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"the {name} {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or value > limit:
        raise ValueError(f"the {name} ({text}) must be between 0 and {limit}")
    return value.quantize(Decimal("0.1"))


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [_norm(cell) for cell in header]
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in DATE_HEADINGS and "date" not in found:
            found["date"] = index
        elif (name in HOURS_HEADINGS or name.startswith("usage")) and "hours" not in found:
            found["hours"] = index
        elif (name in AHI_HEADINGS or name.startswith("ahi")) and "ahi" not in found:
            found["ahi"] = index
        elif "leak" in name and "leak" not in found:
            found["leak"] = index
    if "date" in found:
        return found
    return None


def _detect_source(text: str) -> str:
    lowered = text.lower()
    if "airview" in lowered or "resmed" in lowered:
        return UsageSource.AIRVIEW
    if "care orchestrator" in lowered or "philips" in lowered:
        return UsageSource.CARE_ORCHESTRATOR
    return UsageSource.OTHER


def _metadata(row: list[str]) -> tuple[str, str] | None:
    cells = [cell.strip() for cell in row if cell.strip()]
    if len(cells) == 1 and ":" in cells[0]:
        key, _, value = cells[0].partition(":")
        return _norm(key), value.strip()
    if len(cells) == 2:
        return _norm(cells[0].rstrip(":")), cells[1]
    return None


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ServiceError(
            f"The file is larger than {MAX_BYTES // 1024} KB: export one patient's nights.",
            code="invalid_file",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError(
            "The file is not UTF-8 text: export the usage report as CSV.", code="invalid_file"
        ) from None


class _Reader:
    """The state of one pass over the file: preamble, header, then nights."""

    def __init__(self) -> None:
        self.parsed = ParsedFile()
        self.columns: dict[str, int] | None = None
        self.errors: list[str] = []
        self.seen: dict[datetime.date, int] = {}
        self.preamble: list[str] = []

    def preamble_row(self, row: list[str], line: int) -> None:
        self.columns = _columns(row)
        if self.columns is not None:
            if "hours" not in self.columns:
                raise ServiceError(
                    f"Line {line}: the header has a date column but no hours-used column.",
                    code="invalid_file",
                )
            return
        self.preamble.append(" ".join(row))
        meta = _metadata(row)
        if meta and meta[0] in SERIAL_KEYS:
            self.parsed.serial = meta[1]
        elif meta and meta[0] in PATIENT_KEYS:
            self.parsed.patient_reference = meta[1]

    def night_row(self, row: list[str], line: int) -> None:
        columns = self.columns
        assert columns is not None
        try:
            night = _parse_date(_cell(row, columns["date"]))
            hours = _parse_hours(_cell(row, columns["hours"]))
            ahi = _parse_measure(_cell(row, columns.get("ahi")), "AHI", Decimal(150))
            leak = _parse_measure(_cell(row, columns.get("leak")), "leak", Decimal(200))
        except ValueError as exc:
            self.errors.append(f"line {line}: {exc}")
            return
        if night in self.seen:
            self.errors.append(
                f"line {line}: the night {night} is already on line {self.seen[night]}"
            )
            return
        self.seen[night] = line
        self.parsed.nights.append(ParsedNight(line, night, hours, ahi, leak))


def parse_usage_csv(data: bytes) -> ParsedFile:
    """Parse an export; raise ``ServiceError`` (code ``invalid_file``) listing every bad
    line by its number, so nothing of a bad file is stored."""
    state = _Reader()
    reader = csv.reader(io.StringIO(_decode(data)))
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if state.columns is None:
                state.preamble_row(row, reader.line_num)
            else:
                state.night_row(row, reader.line_num)
    except csv.Error as exc:
        raise ServiceError(
            f"Line {reader.line_num}: not readable as CSV ({exc}).", code="invalid_file"
        ) from None
    if state.columns is None:
        raise ServiceError(
            "No header row with a date and an hours-used column was found.", code="invalid_file"
        )
    if state.errors:
        errors = state.errors
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        extra = len(errors) - MAX_ERRORS_SHOWN
        more = f" (and {extra} more)" if extra > 0 else ""
        raise ServiceError(
            f"The file was not imported: {shown}{more}.",
            code="invalid_file",
            fields={"file": errors[:MAX_ERRORS_SHOWN]},
        )
    if not state.parsed.nights:
        raise ServiceError("The file holds no night of usage.", code="invalid_file")
    state.parsed.source = _detect_source(" ".join(state.preamble))
    return state.parsed


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index]
