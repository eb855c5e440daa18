"""Field-encryption key rotation: re-encrypt every encrypted column under the newest key.

``FIELD_ENCRYPTION_KEY`` holds several Fernet keys, newest first: the first encrypts, any
decrypts. To rotate, an operator puts a new key first, restarts, then runs
``manage.py rotate_encryption_keys``; once it reports nothing left, the old key can go.

The work is done on the raw column values (no model ``save()``): nothing but the
ciphertext changes, no audit entries are written for a value that did not change, and
a value that is already under the newest key is left alone, which makes the command
resumable: after an interruption, running it again continues where it stopped.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from encrypted_model_fields.fields import get_crypter

from .phi import BlindIndexField, is_encrypted

Progress = Callable[[int], object] | None


class KeyRotationError(Exception):
    pass


@dataclass
class RotationResult:
    table: str
    rows_seen: int = 0
    values_rotated: int = 0


def encrypted_tables() -> list[tuple[type[models.Model], list[str]]]:
    """``(model, [encrypted column names])`` for every concrete model that has any."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        columns = [f.column for f in model._meta.concrete_fields if is_encrypted(f)]
        if columns:
            found.append((model, columns))
    return found


def _newest_key() -> Fernet:
    keys = settings.FIELD_ENCRYPTION_KEY
    return Fernet(keys[0] if isinstance(keys, list | tuple) else keys)


def rotate_table(
    model: type[models.Model],
    columns: list[str],
    *,
    batch_size: int = 500,
    progress: Progress = None,
) -> "RotationResult":
    """Re-encrypt ``columns`` of ``model``'s table in primary-key order, one
    transaction per batch. Returns a :class:`RotationResult`."""
    newest = _newest_key()
    crypter = get_crypter()
    table = model._meta.db_table
    quote = connection.ops.quote_name
    assert model._meta.pk is not None
    pk_column = model._meta.pk.column
    select = "SELECT {pk}, {cols} FROM {table} {where} ORDER BY {pk} LIMIT %s"
    parts = {
        "pk": quote(pk_column),
        "cols": ", ".join(quote(c) for c in columns),
        "table": quote(table),
    }
    result = RotationResult(table=table)
    last_pk: Any = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if last_pk is None:
                cursor.execute(select.format(where="", **parts), [batch_size])
            else:
                where = f"WHERE {parts['pk']} > %s"
                cursor.execute(select.format(where=where, **parts), [last_pk, batch_size])
            rows = cursor.fetchall()
            if not rows:
                break
            updates: list[tuple[Any, dict[str, str]]] = []
            for pk, *values in rows:
                changed: dict[str, str] = {}
                for column, value in zip(columns, values, strict=True):
                    if not value:
                        continue
                    token = value.encode()
                    try:
                        newest.decrypt(token)
                        continue
                    except InvalidToken:
                        pass
                    try:
                        changed[column] = crypter.rotate(token).decode()
                    except InvalidToken as exc:
                        raise KeyRotationError(
                            f"{table}.{column} of row {pk} cannot be decrypted with any "
                            "configured key; nothing in this batch was changed."
                        ) from exc
                if changed:
                    updates.append((pk, changed))
            for pk, changed in updates:
                assignments = ", ".join(f"{quote(column)} = %s" for column in changed)
                cursor.execute(
                    f"UPDATE {quote(table)} SET {assignments} WHERE {quote(pk_column)} = %s",  # noqa: S608
                    [*changed.values(), pk],
                )
                result.values_rotated += len(changed)
            result.rows_seen += len(rows)
            last_pk = rows[-1][0]
        if progress is not None:
            progress(len(rows))
    return result


def blind_indexed_models() -> list[tuple[type[models.Model], list[BlindIndexField]]]:
    """``(model, [BlindIndexField])`` for every concrete model that has any."""
    from .phi import blind_index_fields

    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        indexes = list(blind_index_fields(model).values())
        if indexes:
            found.append((model, indexes))
    return found


def reindex_model(
    model: type[models.Model],
    indexes: list[BlindIndexField],
    *,
    batch_size: int = 500,
    progress: Progress = None,
) -> int:
    """Recompute ``indexes`` (after a BLIND_INDEX_KEY change); returns rows updated."""
    sources = [str(index.source) for index in indexes]
    names = [index.name for index in indexes]
    manager = model._base_manager
    updated = 0
    last_pk = None
    while True:
        batch = manager.order_by("pk").only("pk", *sources, *names)
        if last_pk is not None:
            batch = batch.filter(pk__gt=last_pk)
        rows = list(batch[:batch_size])
        if not rows:
            return updated
        changed = []
        for row in rows:
            stale = False
            for index in indexes:
                value = index.compute(getattr(row, str(index.source)))
                if getattr(row, index.attname) != value:
                    setattr(row, index.attname, value)
                    stale = True
            if stale:
                changed.append(row)
        with transaction.atomic():
            manager.bulk_update(changed, names)
        updated += len(changed)
        last_pk = rows[-1].pk
        if progress is not None:
            progress(len(rows))
