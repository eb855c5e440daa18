"""ASC X12 5010 segments: delimiters, writing (with data cleaning), streaming reading.

One module for every transaction set we send or receive (837P out; 999, 277CA, 835, 271
in). Sources: ASC X12 005010 Technical Reports Type 3 (e.g. 005010X222A1, appendix B
"Nomenclature" and the ISA/IEA, GS/GE, ST/SE envelope pages). X12 has no escape (release)
character: a delimiter can never appear inside data, so the writer *cleans* data values
(:func:`clean`) and *refuses* identifiers that would be altered (:func:`clean_id`).

Reading: :func:`read_segments` streams segments from a file-like object, a ``bytes`` or a
``str`` with bounded memory and yields each :class:`Segment` with its position (ordinal in
the file, starting at 1, and character offset). Anything that is not valid X12 raises
:class:`X12Error`, which names the segment id and its position, never its data (a segment
may hold PHI). :func:`read_transactions` groups the segments of each ST/SE transaction
set and checks the envelopes (counts and control numbers).
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TextIO

from core.exceptions import ServiceError

__all__ = [
    "DEFAULT_DELIMITERS",
    "ISA_LENGTH",
    "Component",
    "Delimiters",
    "InterchangeHeader",
    "Repeat",
    "Segment",
    "SegmentWriter",
    "Transaction",
    "X12Error",
    "clean",
    "clean_id",
    "format_segment",
    "isa_segment",
    "read_segments",
    "read_transactions",
]

#: The ISA segment is fixed-length: 106 characters including its terminator.
ISA_LENGTH = 106
#: Segment identifiers: 2 or 3 upper-case letters/digits, starting with a letter.
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
# The X12 basic and extended character sets (005010 appendix B.1.1.2): upper and lower
# case letters, digits, space and these specials. Anything else is cleaned out.
_ALLOWED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "
    "!\"&'()*+,-./:;?=%@[]_{}\\|<>~^#$"
)
_READ_CHUNK = 64 * 1024


class X12Error(ServiceError):
    """The data is not valid X12; names the segment id and its position, never its data."""

    code = "x12_invalid"

    def __init__(
        self, message: str, *, segment: str = "", position: int = 0, offset: int = 0
    ) -> None:
        where = []
        if segment:
            where.append(f"segment {segment}")
        if position:
            where.append(f"segment position {position}")
        if offset or position:
            where.append(f"character {offset}")
        text = f"{message} ({', '.join(where)})" if where else message
        super().__init__(text, code=self.code)
        self.segment = segment
        self.position = position
        self.offset = offset


@dataclass(frozen=True)
class Delimiters:
    """The four separators of an interchange (ISA: element = 4th char, ISA11, ISA16, terminator)."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def __post_init__(self) -> None:
        chars = (self.element, self.component, self.repetition, self.segment)
        if any(len(c) != 1 for c in chars):
            raise X12Error("Each X12 delimiter must be exactly one character.")
        if len(set(chars)) != 4:
            raise X12Error("The X12 delimiters must be four different characters.")
        if any(c.isalnum() or c == " " for c in chars):
            raise X12Error("An X12 delimiter cannot be a letter, a digit or a space.")

    @property
    def all(self) -> frozenset[str]:
        return frozenset((self.element, self.component, self.repetition, self.segment))


DEFAULT_DELIMITERS = Delimiters()


@dataclass(frozen=True)
class Component:
    """A composite element: its parts are joined with the component separator."""

    parts: tuple[str | None, ...]

    def __init__(self, *parts: str | None) -> None:
        object.__setattr__(self, "parts", tuple(parts))


@dataclass(frozen=True)
class Repeat:
    """A repeated element: its values are joined with the repetition separator."""

    values: tuple[str | Component, ...]

    def __init__(self, *values: str | Component) -> None:
        object.__setattr__(self, "values", tuple(values))


Element = str | Component | Repeat | None


def clean(value: object, delimiters: Delimiters = DEFAULT_DELIMITERS, *, upper: bool = True) -> str:
    """A data value made safe for X12: accents folded, delimiters and other characters
    outside the X12 character set turned into spaces, runs of spaces collapsed, trimmed.

    X12 has no escape character, so this is how "escaping" is done (005010 B.1.1.2.5:
    delimiters must not occur in data). Upper-cased by default, as payers expect names.
    """
    if value is None:
        return ""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = "".join(c if c in _ALLOWED and c not in delimiters.all else " " for c in text)
    text = " ".join(text.split())
    return text.upper() if upper else text


def clean_id(
    value: object, what: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, upper: bool = True
) -> str:
    """An identifier (member id, NPI, claim number...) that cleaning must not alter.

    Raises :class:`X12Error` naming ``what`` (never the value) when it would change, as a
    silently altered identifier would misdirect a claim.
    """
    raw = "" if value is None else str(value).strip()
    cleaned = clean(raw, delimiters, upper=upper)
    if cleaned != (raw.upper() if upper else raw):
        raise X12Error(f"The {what} holds characters X12 cannot carry.")
    return cleaned


def _element_text(value: Element, delimiters: Delimiters) -> str:
    if value is None:
        return ""
    if isinstance(value, Repeat):
        return delimiters.repetition.join(_element_text(v, delimiters) for v in value.values)
    if isinstance(value, Component):
        parts = [p or "" for p in value.parts]
        while parts and not parts[-1]:
            parts.pop()
        for part in parts:
            _check_value(part, delimiters)
        return delimiters.component.join(parts)
    _check_value(value, delimiters)
    return value


def _check_value(value: str, delimiters: Delimiters) -> None:
    if any(c in delimiters.all for c in value):
        # A programming error: values must go through clean()/clean_id() first.
        raise X12Error("An element value contains an X12 delimiter; clean it first.")


def format_segment(
    segment_id: str, elements: Sequence[Element], delimiters: Delimiters = DEFAULT_DELIMITERS
) -> str:
    """One segment as text, trailing empty elements dropped, with its terminator."""
    if not _SEGMENT_ID.match(segment_id):
        raise X12Error("Not an X12 segment identifier.", segment=segment_id[:3])
    texts = [_element_text(e, delimiters) for e in elements]
    while texts and texts[-1] == "":
        texts.pop()
    return delimiters.element.join([segment_id, *texts]) + delimiters.segment


@dataclass(frozen=True)
class InterchangeHeader:
    """The ISA fields a sender chooses (005010 ISA segment)."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str  # YYMMDD
    time: str  # HHMM
    control_number: int
    usage: str = "P"  # P production, T test (ISA15)
    ack_requested: str = "0"  # ISA14: 0 no TA1 requested, 1 requested
    version: str = "00501"


def isa_segment(header: InterchangeHeader, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
    """The fixed-width ISA segment (106 characters with its terminator)."""
    if not 0 < header.control_number <= 999_999_999:
        raise X12Error("The interchange control number must be 1 to 999999999.", segment="ISA")
    if header.usage not in ("P", "T"):
        raise X12Error("ISA15 usage must be P (production) or T (test).", segment="ISA")

    def fixed(value: str, width: int, what: str) -> str:
        value = clean_id(value, what, delimiters)
        if len(value) > width:
            raise X12Error(f"The {what} is longer than {width} characters.", segment="ISA")
        return value.ljust(width)

    fields = [
        "00",
        " " * 10,
        "00",
        " " * 10,
        fixed(header.sender_qualifier, 2, "interchange sender qualifier"),
        fixed(header.sender_id, 15, "interchange sender id"),
        fixed(header.receiver_qualifier, 2, "interchange receiver qualifier"),
        fixed(header.receiver_id, 15, "interchange receiver id"),
        header.date,
        header.time,
        delimiters.repetition,
        header.version,
        f"{header.control_number:09d}",
        header.ack_requested,
        header.usage,
        delimiters.component,
    ]
    text = delimiters.element.join(["ISA", *fields]) + delimiters.segment
    if len(text) != ISA_LENGTH:
        raise X12Error("The ISA segment is not 106 characters long.", segment="ISA")
    return text


class SegmentWriter:
    """Writes segments to a text stream and counts them (for SE01 and the summary).

    ``newline=True`` puts a line break after each terminator (allowed by most
    clearinghouses and easier to read; pyx12 accepts it).
    """

    def __init__(
        self,
        stream: TextIO,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
        *,
        newline: bool = True,
    ) -> None:
        self.stream = stream
        self.delimiters = delimiters
        self.newline = "\n" if newline else ""
        self.count = 0  # every segment written
        self.since_st = 0  # segments in the open transaction set, ST and SE included

    def write(self, segment_id: str, *elements: Element) -> None:
        self.raw(format_segment(segment_id, elements, self.delimiters))
        if segment_id == "ST":
            self.since_st = 1
        elif self.since_st:
            self.since_st += 1

    def raw(self, text: str) -> None:
        """A segment already formatted (the ISA)."""
        self.stream.write(text + self.newline)
        self.count += 1


@dataclass(frozen=True)
class Segment:
    """One segment read from a file: id, elements (``[0]`` is the id) and position."""

    id: str
    elements: tuple[str, ...]
    position: int  # ordinal in the file, 1 = the first ISA
    offset: int  # character offset of the segment's first character
    delimiters: Delimiters = field(default=DEFAULT_DELIMITERS, repr=False, compare=False)

    def __getitem__(self, index: int) -> str:
        """Element ``index`` (1-based, as in ``CLM01``), '' when absent."""
        return self.elements[index] if 0 <= index < len(self.elements) else ""

    def get(self, index: int, default: str = "") -> str:
        return self[index] or default

    def components(self, index: int) -> list[str]:
        """Element ``index`` split into its components (at least one, maybe '')."""
        return self[index].split(self.delimiters.component)

    def repeats(self, index: int) -> list[str]:
        value = self[index]
        return value.split(self.delimiters.repetition) if value else []

    def __len__(self) -> int:
        return len(self.elements)

    def error(self, message: str) -> X12Error:
        """An :class:`X12Error` located at this segment."""
        return X12Error(message, segment=self.id, position=self.position, offset=self.offset)


def _as_text_stream(source: IO[str] | IO[bytes] | bytes | str) -> IO[str] | IO[bytes]:
    if isinstance(source, bytes):
        # Read in chunks (decoded one chunk at a time): no second copy of a large file.
        return io.BytesIO(source)
    if isinstance(source, str):
        return io.StringIO(source)
    return source


class _Scanner:
    """Reads the stream in chunks and hands out one segment's text at a time. Bytes are
    decoded as they are read (UTF-8, of which ASCII is a part: 5010 allows UTF-8 for the
    extended character set), a character split between two chunks included."""

    def __init__(self, stream: IO[str] | IO[bytes]) -> None:
        self.stream = stream
        self.buffer = ""
        self.consumed = 0  # characters before buffer[0]
        self.eof = False
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.bytes_read = 0

    def _read(self) -> str:
        chunk = self.stream.read(_READ_CHUNK)
        if not isinstance(chunk, bytes):
            return chunk
        try:
            text = self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise X12Error(
                f"Not X12: undecodable byte at byte {self.bytes_read + max(exc.start, 0)}."
            ) from None
        self.bytes_read += len(chunk)
        if not text and chunk:
            return self._read()  # a chunk that ends inside one character
        return text

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self._read()
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def skip_blank(self) -> None:
        """Drop whitespace (and a BOM) before an ISA."""
        while True:
            stripped = self.buffer.lstrip("\ufeff \r\n\t")
            self.consumed += len(self.buffer) - len(stripped)
            self.buffer = stripped
            if len(self.buffer) >= ISA_LENGTH or not self.fill():
                return

    def take(self, size: int) -> tuple[str, int]:
        text, offset = self.buffer[:size], self.consumed
        self.buffer = self.buffer[size:]
        self.consumed += size
        return text, offset

    def next_segment(self, terminator: str) -> tuple[str, int] | None:
        """The next segment's text (without its terminator) and offset; None at the end."""
        end = self.buffer.find(terminator)
        while end < 0 and self.fill():
            end = self.buffer.find(terminator, max(0, len(self.buffer) - _READ_CHUNK - 1))
        if end < 0:
            return None
        text, offset = self.take(end + 1)
        text = text[:-1]
        lead = len(text) - len(text.lstrip("\r\n\t "))
        return text.strip("\r\n\t "), offset + lead


def read_segments(source: IO[str] | IO[bytes] | bytes | str) -> Iterator[Segment]:
    """Yield every segment of an X12 file with its position, in bounded memory.

    The delimiters are taken from each ISA (a file may hold several interchanges).
    Raises :class:`X12Error` at the first thing that is not X12: no ISA first, a short or
    malformed ISA, a bad segment id, a segment that is not terminated.
    """
    scan = _Scanner(_as_text_stream(source))
    position = 0
    delimiters: Delimiters | None = None
    while True:
        if delimiters is None:
            scan.skip_blank()
            if not scan.buffer:
                if position == 0:
                    raise X12Error("Not X12: the file is empty.")
                return
            position += 1
            delimiters = _isa_delimiters(scan.buffer, position, scan.consumed)
            isa, offset = scan.take(ISA_LENGTH)
            elements = tuple(isa[:-1].split(delimiters.element))
            yield Segment("ISA", elements, position, offset, delimiters)
            continue
        found = scan.next_segment(delimiters.segment)
        position += 1
        if found is None:
            rest = scan.buffer.strip()
            if rest:
                lead = len(scan.buffer) - len(scan.buffer.lstrip())
                raise X12Error(
                    "Segment not terminated at the end of the file",
                    segment=_safe_id(rest, delimiters),
                    position=position,
                    offset=scan.consumed + lead,
                )
            raise X12Error(
                "The file ends inside an interchange (IEA missing)",
                position=position,
                offset=scan.consumed,
            )
        text, offset = found
        segment = _segment(text, position, offset, delimiters)
        yield segment
        if segment.id == "IEA":
            delimiters = None


def _segment(text: str, position: int, offset: int, delimiters: Delimiters) -> Segment:
    if not text:
        raise X12Error("Empty segment", position=position, offset=offset)
    elements = tuple(text.split(delimiters.element))
    seg_id = elements[0]
    if not _SEGMENT_ID.match(seg_id):
        raise X12Error(
            "Not a valid segment identifier",
            segment=_safe_id(seg_id, delimiters),
            position=position,
            offset=offset,
        )
    if seg_id == "ISA":
        raise X12Error(
            "ISA inside an interchange (the IEA is missing)",
            segment="ISA",
            position=position,
            offset=offset,
        )
    return Segment(seg_id, elements, position, offset, delimiters)


def _safe_id(text: str, delimiters: Delimiters) -> str:
    """The would-be segment id for an error message: at most 3 letters/digits."""
    head = text.lstrip().split(delimiters.element, 1)[0][:3]
    return "".join(c for c in head if c.isalnum()) or "?"


def _isa_delimiters(buffer: str, position: int, offset: int) -> Delimiters:
    if not buffer.startswith("ISA"):
        raise X12Error(
            "Not X12: an interchange must start with ISA",
            segment=_safe_id(buffer, DEFAULT_DELIMITERS),
            position=position,
            offset=offset,
        )
    if len(buffer) < ISA_LENGTH:
        raise X12Error(
            "Not X12: the ISA segment is shorter than 106 characters",
            segment="ISA",
            position=position,
            offset=offset,
        )
    element = buffer[3]
    isa = buffer[:ISA_LENGTH]
    parts = isa[: ISA_LENGTH - 1].split(element)
    if len(parts) != 17:
        raise X12Error(
            "Not X12: the ISA segment must have 16 fixed-width elements",
            segment="ISA",
            position=position,
            offset=offset,
        )
    try:
        delimiters = Delimiters(
            element=element,
            component=isa[104],
            repetition=parts[11] if parts[12] >= "00501" else "^",
            segment=isa[105],
        )
    except X12Error as exc:
        raise X12Error(
            f"Not X12: {exc.message.rstrip('.')}", segment="ISA", position=position, offset=offset
        ) from None
    if not parts[13].isdigit() or len(parts[13]) != 9:
        raise X12Error(
            "ISA13 interchange control number must be nine digits",
            segment="ISA",
            position=position,
            offset=offset,
        )
    return delimiters


@dataclass
class Transaction:
    """One ST..SE transaction set with the ISA and GS that enclose it."""

    isa: Segment
    gs: Segment
    segments: list[Segment]  # ST first, SE last

    @property
    def set_id(self) -> str:
        """ST01: 837, 999, 277, 835, 271..."""
        return self.segments[0][1]

    @property
    def control_number(self) -> str:
        return self.segments[0][2]

    @property
    def body(self) -> list[Segment]:
        """The segments between ST and SE."""
        return self.segments[1:-1]


def _expect(condition: bool, segment: Segment, message: str) -> None:
    if not condition:
        raise segment.error(message)


def read_transactions(source: IO[str] | IO[bytes] | bytes | str) -> Iterator[Transaction]:
    """Yield each transaction set, after checking the envelopes around it.

    Checks (005010 envelope rules): GS only inside ISA/IEA, ST only inside GS/GE, SE01
    counts the segments ST..SE, SE02 = ST02, GE01 counts the ST, GE02 = GS06, IEA01 counts
    the GS, IEA02 = ISA13, nothing outside an envelope, the file ends after an IEA.
    A caller that must change nothing on bad input reads the whole file first (e.g.
    ``list(read_transactions(data))``) or works inside ``transaction.atomic``.
    Each transaction's segments are held in memory; :func:`iter_transaction_segments`
    streams them one at a time instead (a large 835).
    """
    current: list[Segment] = []
    for isa, gs, segment in iter_transaction_segments(source):
        current.append(segment)
        if segment.id == "SE":
            yield Transaction(isa=isa, gs=gs, segments=current)
            current = []


def iter_transaction_segments(
    source: IO[str] | IO[bytes] | bytes | str,
) -> Iterator[tuple[Segment, Segment, Segment]]:
    """Yield ``(isa, gs, segment)`` for every segment from each ST to its SE, in bounded
    memory (nothing per segment is kept), checking the envelopes as
    :func:`read_transactions` does. An SE is yielded once its counts are checked; a
    broken envelope raises :class:`X12Error` where it is found (so a caller that must
    change nothing reads the whole stream once before acting on it)."""
    isa: Segment | None = None
    gs: Segment | None = None
    st: Segment | None = None
    count = 0
    groups = 0
    sets = 0
    last: Segment | None = None
    for segment in read_segments(source):
        last = segment
        sid = segment.id
        if sid == "ISA":
            isa, groups = segment, 0
            continue
        _expect(isa is not None, segment, "Segment outside an interchange (no ISA)")
        assert isa is not None
        if sid == "IEA":
            _expect(gs is None, segment, "IEA before the GE of the open group")
            _expect(segment[1] == str(groups), segment, "IEA01 does not count the groups")
            _expect(segment[2] == isa[13], segment, "IEA02 does not match ISA13")
            isa = None
            continue
        if sid == "GS":
            _expect(gs is None, segment, "GS inside an open group (GE missing)")
            gs, sets = segment, 0
            groups += 1
            continue
        _expect(gs is not None, segment, "Segment outside a functional group (no GS)")
        assert gs is not None
        if sid == "GE":
            _expect(st is None, segment, "GE before the SE of the open transaction set")
            _expect(segment[1] == str(sets), segment, "GE01 does not count the transaction sets")
            _expect(segment[2] == gs[6], segment, "GE02 does not match GS06")
            gs = None
            continue
        if sid == "ST":
            _expect(st is None, segment, "ST inside an open transaction set (SE missing)")
            _expect(bool(segment[1]) and bool(segment[2]), segment, "ST01 and ST02 are required")
            st, count = segment, 1
            sets += 1
            yield isa, gs, segment
            continue
        _expect(st is not None, segment, "Segment outside a transaction set (no ST)")
        assert st is not None
        count += 1
        if sid == "SE":
            _expect(segment[1] == str(count), segment, "SE01 does not count the segments")
            _expect(segment[2] == st[2], segment, "SE02 does not match ST02")
            st = None
        yield isa, gs, segment
    if isa is not None or gs is not None or st is not None:
        assert last is not None
        raise X12Error(
            "The file ends inside an envelope (SE, GE or IEA missing)",
            segment=last.id,
            position=last.position,
            offset=last.offset,
        )


def segments_text(segments: Iterable[Segment]) -> Iterator[str]:
    """Re-serialise read segments (round trip; tests and debugging)."""
    for segment in segments:
        yield segment.delimiters.element.join(segment.elements) + segment.delimiters.segment
