"""A logging filter that keeps record descriptions and search terms out of log lines.

Django's ``django.request`` logger writes the message of every exception behind a 500,
and several exceptions carry the text of the records involved: ``ProtectedError`` and
``RestrictedError`` hold ``str()`` of every blocking object, a database error's detail
holds the failing row's values, a ``ValidationError`` holds the rejected value (a date
of birth typed wrongly). An exception raised by our own code may format any value into
its message. The access line of ``django.server`` holds the request's query string,
where an admin search term travels. HIPAA asks that PHI reach only those who need it
(45 CFR 164.502(b), minimum necessary) and that it be safeguarded wherever it is kept
(45 CFR 164.312(a)(1), 164.312(c)(1)): a log file is kept, copied and shipped.

``PHIScrubFilter`` rewrites each record before any handler formats it:

- an exception's message is replaced by its type and what identifies the failure without
  values: model names and counts for ProtectedError/RestrictedError, constraint, table and
  column names for database errors, field names for validation errors; the messages of a
  few exception types that describe code, never data (AttributeError, NameError, ...)
  are kept. The traceback's frames (file, line, code) stay;
- a model instance passed as an argument is logged as ``<app.Model pk>``, never ``str()``;
- the query string of any logged URL is replaced by ``?[redacted]``.

``config/settings.py`` attaches it to the console handler and to the Django and DRF
loggers (see ``LOGGING``).
"""

import logging
import re
import traceback
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.db.models import Model, ProtectedError, RestrictedError

# Their messages name code (attributes, modules, types), never the data being handled.
CODE_MESSAGE_TYPES = (
    AttributeError,
    NameError,
    ImportError,
    NotImplementedError,
    RecursionError,
    ZeroDivisionError,
)
WITHHELD = "[message withheld: it may carry record data]"
REDACTED_QUERY = "?[redacted]"
# A URL's path followed by a query string, as in a request line or a logged URL.
_QUERY_STRING_RE = re.compile(r"(/[^\s?\"'<>]*)\?[^\s\"'<>]*")
_SCRUBBED = "_phi_scrubbed"


def redact_query_strings(text: str) -> str:
    """``GET /admin/x/?q=1950-01-02 HTTP/1.1`` -> ``GET /admin/x/?[redacted] HTTP/1.1``."""
    return _QUERY_STRING_RE.sub(lambda match: match.group(1) + REDACTED_QUERY, text)


def describe_instance(obj: Model) -> str:
    """``<clinical.Patient 0b6f...>``: the model and primary key, never ``str(obj)``."""
    return f"<{obj._meta.label} {obj.pk}>"


def _blocking_kinds(objects: Iterable[object]) -> str:
    counts = Counter(obj._meta.label for obj in objects if isinstance(obj, Model))
    return ", ".join(f"{count} {label}" for label, count in sorted(counts.items()))


def _database_error_message(exc: DatabaseError) -> str:
    # Django wraps the driver's error; psycopg's ``diag`` names what failed without the
    # DETAIL line (which quotes the failing row's values).
    driver_error = exc.__cause__ if exc.__cause__ is not None else exc
    diag = getattr(driver_error, "diag", None)
    if diag is None:
        return WITHHELD
    names = [
        f"{label} {value}"
        for label, value in (
            ("sqlstate", getattr(driver_error, "sqlstate", None)),
            ("constraint", diag.constraint_name),
            ("table", diag.table_name),
            ("column", diag.column_name),
        )
        if value
    ]
    return "; ".join(names) if names else WITHHELD


def safe_exception_message(exc: BaseException) -> str:
    """The part of an exception's message that cannot carry a record's text."""
    if isinstance(exc, ProtectedError | RestrictedError):
        kinds = _blocking_kinds(
            exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        )
        return f"blocked by {kinds or 'related records'}"
    if isinstance(exc, DatabaseError):
        return _database_error_message(exc)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return "invalid fields: " + ", ".join(sorted(exc.error_dict))
        return WITHHELD
    if isinstance(exc, CODE_MESSAGE_TYPES):
        return str(exc)
    return WITHHELD


def _exception_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def format_exception_safely(exc: BaseException) -> str:
    """A traceback like ``traceback.format_exception`` with every message made safe
    (the chained causes and contexts included)."""
    chunks: list[str] = []
    seen: set[int] = set()

    def walk(current: BaseException) -> None:
        seen.add(id(current))
        if current.__cause__ is not None and id(current.__cause__) not in seen:
            walk(current.__cause__)
            chunks.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
            )
        elif (
            current.__context__ is not None
            and not current.__suppress_context__
            and id(current.__context__) not in seen
        ):
            walk(current.__context__)
            chunks.append(
                "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        if current.__traceback__ is not None:
            chunks.append("Traceback (most recent call last):\n")
            chunks.extend(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        chunks.append(f"{_exception_name(current)}: {safe_exception_message(current)}\n")

    walk(exc)
    return "".join(chunks).rstrip("\n")


def _safe_arg(value: Any) -> Any:
    if isinstance(value, Model):
        return describe_instance(value)
    if isinstance(value, BaseException):
        return f"{_exception_name(value)}: {safe_exception_message(value)}"
    return value


class PHIScrubFilter(logging.Filter):
    """Rewrite a record so that no handler can write a record's text or a search term.

    It never drops a record (the line still says what failed and where); it runs once
    per record however many loggers and handlers carry it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SCRUBBED, False):
            return True
        setattr(record, _SCRUBBED, True)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception_safely(record.exc_info[1])
            # The formatter would render exc_info again, with the original messages.
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = WITHHELD
        record.msg = _safe_arg(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _safe_arg(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_safe_arg(value) for value in record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: the handler reports it
            return True
        redacted = redact_query_strings(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
