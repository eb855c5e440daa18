"""The X12 layer (hme.edi.x12), the directory-drop adapter and the inbox dispatch."""

import io

import pytest

from hme.edi import inbox
from hme.edi.adapters import AdapterError, DirectoryDropAdapter
from hme.edi.x12 import (
    Component,
    Delimiters,
    InterchangeHeader,
    Repeat,
    SegmentWriter,
    X12Error,
    clean,
    clean_id,
    format_segment,
    isa_segment,
    read_segments,
    read_transactions,
)

HEADER = InterchangeHeader(
    sender_qualifier="ZZ",
    sender_id="SENDER01",
    receiver_qualifier="ZZ",
    receiver_id="RECEIVER01",
    date="261201",
    time="1200",
    control_number=42,
    usage="T",
)


def envelope(body: list[tuple], *, set_id="999", delimiters=None, newline=True) -> str:
    delimiters = delimiters or Delimiters()
    out = io.StringIO()
    w = SegmentWriter(out, delimiters, newline=newline)
    w.raw(isa_segment(HEADER, delimiters))
    w.write("GS", "FA", "SENDER01", "RECEIVER01", "20261201", "1200", "7", "X", "005010X231A1")
    w.write("ST", set_id, "0001", "005010X231A1")
    for seg in body:
        w.write(*seg)
    w.write("SE", str(w.since_st + 1), "0001")
    w.write("GE", "1", "7")
    w.write("IEA", "1", "000000042")
    return out.getvalue()


def test_isa_is_fixed_width_and_round_trips():
    isa = isa_segment(HEADER)
    assert len(isa) == 106
    seg = next(read_segments(isa))
    assert seg.id == "ISA"
    assert seg[6].strip() == "SENDER01"
    assert seg[13] == "000000042"
    assert seg.position == 1
    assert seg.offset == 0


def test_writer_drops_trailing_empties_and_joins_components_and_repeats():
    text = format_segment("SV1", [Component("HC", "E0601", "RR", None), "100", None, None])
    assert text == "SV1*HC:E0601:RR*100~"
    assert format_segment("HI", [Repeat(Component("ABK", "G4733"), Component("ABF", "J449"))]) == (
        "HI*ABK:G4733^ABF:J449~"
    )


def test_clean_replaces_delimiters_and_folds_accents():
    assert clean("José*O'Neil~ Jr:") == "JOSE O'NEIL JR"
    assert clean("a^b", upper=False) == "a b"


def test_clean_id_refuses_an_identifier_it_would_alter():
    assert clean_id("w123456789", "member id") == "W123456789"
    with pytest.raises(X12Error, match="member id") as exc:
        clean_id("W12*34", "member id")
    assert "W12" not in exc.value.message


def test_a_delimiter_in_raw_data_is_refused():
    with pytest.raises(X12Error):
        format_segment("NM1", ["A*B"])


def test_reader_streams_positions_and_other_delimiters():
    delimiters = Delimiters(element="|", component=">", repetition="!", segment="\n")
    text = envelope([("AK1", "HC", "7", "005010X222A1")], delimiters=delimiters, newline=False)
    segments = list(read_segments(io.BytesIO(text.encode())))
    assert [s.id for s in segments] == ["ISA", "GS", "ST", "AK1", "SE", "GE", "IEA"]
    assert [s.position for s in segments] == list(range(1, 8))
    assert segments[3][1] == "HC"
    assert text[segments[3].offset :].startswith("AK1|")
    (tx,) = read_transactions(text)
    assert tx.set_id == "999"
    assert [s.id for s in tx.body] == ["AK1"]


@pytest.mark.parametrize(
    ("text", "segment", "position"),
    [
        ("", "", 0),
        ("HELLO*WORLD~", "HEL", 1),
        ("ISA*00*short~", "ISA", 1),
    ],
)
def test_not_x12_is_refused_with_segment_and_position(text, segment, position):
    with pytest.raises(X12Error) as exc:
        list(read_segments(text))
    assert exc.value.segment == segment
    assert exc.value.position == position


def test_bad_segment_id_and_broken_envelopes_name_segment_and_position():
    good = envelope([("AK1", "HC", "7")])
    with pytest.raises(X12Error, match="segment position 4") as exc:
        list(read_segments(good.replace("AK1*", "a%1*")))
    assert exc.value.position == 4
    with pytest.raises(X12Error, match="SE01") as exc:
        list(read_transactions(good.replace("SE*3*", "SE*9*")))
    assert exc.value.segment == "SE"
    assert exc.value.position == 5
    with pytest.raises(X12Error, match="IEA02"):
        list(read_transactions(good.replace("IEA*1*000000042", "IEA*1*000000043")))
    with pytest.raises(X12Error, match="ends inside"):
        list(read_transactions(good.split("GE*")[0]))
    with pytest.raises(X12Error, match="not terminated"):
        list(read_segments(good.rstrip("\n~")))


def test_reader_bounded_memory_on_a_long_file():
    body = [("AK2", "837", f"{n:04d}") for n in range(20000)]
    text = envelope(body)
    count = sum(1 for _ in read_segments(io.StringIO(text)))
    assert count == 20006


def test_directory_drop_sends_atomically_and_fetches(tmp_path):
    adapter = DirectoryDropAdapter(tmp_path / "out", tmp_path / "in", max_bytes=1000)
    ref = adapter.send("c1", "B-1.x12", [b"ISA", b"*..."])
    assert (tmp_path / "out" / ref).read_bytes() == b"ISA*..."
    assert not list((tmp_path / "out" / "c1").glob(".*"))
    with pytest.raises(AdapterError, match="not sent twice"):
        adapter.send("c1", "B-1.x12", [b"x"])
    with pytest.raises(AdapterError):
        adapter.send("c1", "../escape", [b"x"])
    folder = tmp_path / "in" / "c1"
    folder.mkdir(parents=True)
    (folder / "a.999").write_bytes(b"one")
    (folder / "big.999").write_bytes(b"x" * 2000)
    (folder / ".hidden").write_bytes(b"no")
    files = list(adapter.fetch("c1"))
    assert [f.name for f in files] == ["a.999"]
    assert (folder / "failed" / "big.999").exists()
    adapter.done("c1", files[0], ok=True)
    assert (folder / "processed" / "a.999").exists()
    assert list(adapter.fetch("c1")) == []


@pytest.mark.django_db
def test_inbox_dispatches_by_st01_and_refuses_unknown_sets():
    seen = []

    def handler(tx, context):
        seen.append((tx.set_id, context.file_name, [s.id for s in tx.body]))
        return {"read": 1}

    inbox.register_handler("123", handler)
    try:
        result = inbox.dispatch_file(
            None, "a.x12", envelope([("AK1", "HC", "7")], set_id="123").encode()
        )
        assert seen == [("123", "a.x12", ["AK1"])]
        assert result.sets["123"] == 1
        assert result.counts["read"] == 1
        assert "1 x 123" in result.summary()
        with pytest.raises(X12Error, match="No handler for transaction set 124") as exc:
            inbox.dispatch_file(None, "b", envelope([("AK1", "HC")], set_id="124").encode())
        assert exc.value.segment == "ST"
        assert exc.value.position == 3
    finally:
        inbox.unregister_handler("123")
    assert inbox.handler_for("999") is not None
    assert inbox.handler_for("277") is not None
    with pytest.raises(ValueError, match="three digits"):
        inbox.register_handler("99", handler)
