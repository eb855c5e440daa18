"""The sealed backup stream: what goes in comes out, and any change is refused."""

import io
import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.backups.crypto import (
    HEADER_SIZE,
    TAG_SIZE,
    BackupKey,
    EncryptingWriter,
    Header,
    Payload,
    configured_keys,
    decrypt_payload,
    find_key,
    generate_key,
)
from core.backups.errors import BackupIntegrityError, BackupKeyError

KEY = BackupKey.from_text(generate_key())
OTHER = BackupKey.from_text(generate_key())


def seal(payload, *, key=KEY, chunk_size=64, compress=True, pieces=7):
    out = io.BytesIO()
    writer = EncryptingWriter(
        out,
        key,
        payload=Payload.SQLITE,
        backup_id=uuid.uuid4(),
        compress=compress,
        chunk_size=chunk_size,
    )
    for start in range(0, len(payload), pieces):
        writer.write(payload[start : start + pieces])
    writer.close()
    data = out.getvalue()
    assert writer.size == len(data)
    return data


def open_sealed(data, keys=(KEY,)):
    raw = io.BytesIO(data)
    header = Header.read(raw)
    key = find_key(header, list(keys))
    return b"".join(decrypt_payload(raw, header, key))


def chunks_of(data, chunk_size):
    body = data[HEADER_SIZE:]
    size = chunk_size + TAG_SIZE
    return data[:HEADER_SIZE], [body[i : i + size] for i in range(0, len(body), size)]


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=700),
    chunk_size=st.integers(min_value=1, max_value=97),
    compress=st.booleans(),
)
def test_it_gives_back_exactly_what_was_sealed(payload, chunk_size, compress):
    data = seal(payload, chunk_size=chunk_size, compress=compress)
    assert open_sealed(data) == payload


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 129])
def test_it_handles_payloads_on_and_around_chunk_boundaries(size):
    payload = os.urandom(size)
    assert open_sealed(seal(payload, compress=False)) == payload


def test_it_streams_large_payloads_in_bounded_pieces():
    # 8 MiB of zeros inflate from a few KiB: handed on in pieces, never whole.
    out = io.BytesIO()
    writer = EncryptingWriter(
        out, KEY, payload=Payload.SQLITE, backup_id=uuid.uuid4(), compress=True
    )
    for _ in range(8):
        writer.write(bytes(1 << 20))
    writer.close()
    assert len(out.getvalue()) < 64 * 1024
    raw = io.BytesIO(out.getvalue())
    header = Header.read(raw)
    pieces = list(decrypt_payload(raw, header, KEY))
    assert sum(len(piece) for piece in pieces) == 8 << 20
    assert max(len(piece) for piece in pieces) <= 4 << 20


def test_it_refuses_a_file_sealed_with_another_key():
    data = seal(b"patient rows")
    with pytest.raises(BackupKeyError) as error:
        open_sealed(data, keys=[OTHER])
    message = str(error.value)
    assert message.startswith("the backup key does not match this file (key fingerprint ")
    assert KEY.fingerprint in message
    assert OTHER.fingerprint in message


def test_it_opens_old_files_with_any_configured_key():
    data = seal(b"sealed under the old key", key=OTHER)
    assert open_sealed(data, keys=[KEY, OTHER]) == b"sealed under the old key"


def test_the_aes_key_differs_for_every_file():
    one, two = seal(b"same payload"), seal(b"same payload")
    assert one[HEADER_SIZE:] != two[HEADER_SIZE:]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda h, c: h + b"".join(c[:-1]), id="last chunk dropped"),
        pytest.param(lambda h, c: h + b"".join([c[1], c[0], *c[2:]]), id="chunks swapped"),
        pytest.param(lambda h, c: h + b"".join(c)[:-5], id="cut inside the last chunk"),
        pytest.param(lambda h, c: h + b"".join(c) + c[-1], id="a chunk appended"),
        pytest.param(
            lambda h, c: h + c[0][:10] + bytes([c[0][10] ^ 1]) + c[0][11:] + b"".join(c[1:]),
            id="one bit flipped",
        ),
        pytest.param(
            lambda h, c: h[:30] + bytes([h[30] ^ 1]) + h[31:] + b"".join(c),
            id="header salt changed",
        ),
        pytest.param(
            lambda h, c: h[:11] + (32).to_bytes(4, "big") + h[15:] + b"".join(c),
            id="header chunk size changed",
        ),
    ],
)
def test_it_refuses_any_change_to_the_sealed_stream(damage):
    data = seal(os.urandom(300), compress=False)
    header, chunks = chunks_of(data, 64)
    assert len(chunks) == 5
    with pytest.raises(BackupIntegrityError) as error:
        open_sealed(damage(header, chunks))
    assert "cannot be restored" in str(error.value) or "truncated" in str(error.value)


def test_a_file_cut_at_a_chunk_boundary_is_refused():
    # A payload of whole chunks: cutting a whole chunk leaves a well-formed-looking file.
    data = seal(os.urandom(256), compress=False)
    header, chunks = chunks_of(data, 64)
    with pytest.raises(BackupIntegrityError, match="failed authentication"):
        open_sealed(header + b"".join(chunks[:-1]))


def test_it_refuses_what_is_not_a_backup():
    with pytest.raises(BackupIntegrityError, match="not an AriesOne backup file"):
        open_sealed(b"SQLite format 3\x00" + bytes(100))
    with pytest.raises(BackupIntegrityError, match="header is incomplete"):
        open_sealed(seal(b"x")[:30])


def test_it_refuses_a_newer_format_version():
    data = bytearray(seal(b"x"))
    data[8] = 9
    with pytest.raises(BackupIntegrityError, match="format version 9 is not supported"):
        open_sealed(bytes(data))


def test_configured_keys_are_checked(settings):
    settings.BACKUP_ENCRYPTION_KEY = ["not-a-key"]
    with pytest.raises(BackupKeyError, match="entry 1 is not a 32-byte url-safe base64 key"):
        configured_keys()
    settings.BACKUP_ENCRYPTION_KEY = []
    with pytest.raises(BackupKeyError, match="BACKUP_ENCRYPTION_KEY is not set"):
        configured_keys()
    first, second = generate_key(), generate_key()
    settings.BACKUP_ENCRYPTION_KEY = f"{first}, {second}"
    assert [key.secret for key in configured_keys()] == [
        BackupKey.from_text(first).secret,
        BackupKey.from_text(second).secret,
    ]


def test_a_key_never_shows_its_secret():
    assert KEY.fingerprint in repr(KEY)
    assert repr(KEY.secret) not in repr(KEY)
