"""Protected health information (PHI) at rest: encrypted columns and blind indexes.

Encrypted columns come from django-encrypted-model-fields (Fernet, keys in
``FIELD_ENCRYPTION_KEY``, newest first). Each encryption is randomised, so a query such as
``filter(dob=...)`` on an encrypted column silently finds nothing. Exact-match lookups go
through a *blind index*: an HMAC-SHA256 of the normalised value under ``BLIND_INDEX_KEY``,
kept by :class:`BlindIndexField` in an indexed column beside the ciphertext and queried
with ``Model.objects.filter_blind("dob", value)``.

Models declare PHI like this::

    dob = EncryptedDateField("date of birth")
    dob_bidx = BlindIndexField(source="dob", normalizer=normalize_date)
"""

import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from encrypted_model_fields.fields import (
    EncryptedCharField,
    EncryptedDateField,
    EncryptedDateTimeField,
    EncryptedEmailField,
    EncryptedMixin,
    EncryptedTextField,
    decrypt_str,
    encrypt_str,
)

__all__ = [
    "BlindIndexField",
    "EncryptedCharField",
    "EncryptedDateField",
    "EncryptedDateTimeField",
    "EncryptedEmailField",
    "EncryptedJSONField",
    "EncryptedTextField",
    "blind_index",
    "encrypted_field_names",
    "is_encrypted",
    "normalize_date",
    "normalize_email",
    "normalize_identifier",
    "normalize_phone",
]


# Normalisers: two spellings of the same value must give the same index. -----------


def normalize_identifier(value: object) -> str:
    """Identifiers (MBI, member ID, SSN): upper case, no spaces or dashes."""
    return re.sub(r"[\s\-]", "", str(value)).upper()


def normalize_phone(value: object) -> str:
    """Phone numbers: digits only, a leading US country code 1 dropped."""
    digits = re.sub(r"\D", "", str(value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def normalize_email(value: object) -> str:
    return str(value).strip().lower()


def normalize_date(value: object) -> str:
    """Dates: ISO 8601 (``1950-01-02``) from a date or an ISO string."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return datetime.date.fromisoformat(str(value).strip()).isoformat()


def blind_index(
    value: object,
    normalizer: Callable[[object], str] = normalize_identifier,
    key: str | None = None,
) -> str | None:
    """HMAC-SHA256 (hex) of the normalised value; None for an empty value."""
    if value is None or value == "":
        return None
    normalized = normalizer(value)
    if normalized == "":
        return None
    secret = (key or settings.BLIND_INDEX_KEY).encode()
    return hmac.new(secret, normalized.encode(), hashlib.sha256).hexdigest()


class BlindIndexField(models.CharField):  # type: ignore[type-arg]
    """Keeps the blind index of another (encrypted) field of the same model.

    Recomputed from the source field on every save and ``bulk_create`` (``pre_save``).
    ``QuerySet.update()`` and ``bulk_update()`` do not call ``pre_save``: code that
    changes the source field through those must pass the index too.
    """

    def __init__(
        self,
        *args: Any,
        source: str | None = None,
        normalizer: Callable[[object], str] = normalize_identifier,
        **kwargs: Any,
    ) -> None:
        self.source = source
        self.normalizer = normalizer
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["normalizer"] = self.normalizer
        defaults = {"max_length": 64, "db_index": True, "editable": False, "null": True}
        defaults["blank"] = True
        for option, default in defaults.items():
            if kwargs.get(option, default) == default:
                kwargs.pop(option, None)
        return name, path, args, kwargs

    def compute(self, value: object) -> str | None:
        return blind_index(value, self.normalizer)

    def pre_save(self, model_instance: models.Model, add: bool) -> str | None:
        value = self.compute(getattr(model_instance, str(self.source)))
        setattr(model_instance, self.attname, value)
        return value


class EncryptedJSONField(EncryptedMixin, models.TextField):  # type: ignore[type-arg]
    """JSON (dicts, lists, numbers, strings) kept as one Fernet token in a text column.

    The Python value is the decoded object (``record.results["ahi"]``), never the
    ciphertext or a JSON string. ``None`` is SQL NULL (with ``null=True``). Being an
    ``EncryptedMixin`` it is masked by ``core.audit`` and re-encrypted on key rotation
    like every encrypted column; like them it cannot be filtered on.
    """

    description = "Encrypted JSON"

    def __init__(
        self, *args: Any, encoder: type[json.JSONEncoder] = DjangoJSONEncoder, **kwargs: Any
    ) -> None:
        self.encoder = encoder
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not DjangoJSONEncoder:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: object, connection: object) -> Any:
        if value is None:
            return None
        return json.loads(decrypt_str(value))

    def to_python(self, value: Any) -> Any:
        # Python values are already decoded JSON: a str is a JSON string, not a token.
        return value

    def get_prep_value(self, value: Any) -> Any:
        return value

    def get_db_prep_save(self, value: Any, connection: object) -> str | None:
        if value is None:
            return None
        return str(encrypt_str(json.dumps(value, cls=self.encoder)).decode())

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj), cls=self.encoder)

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().formfield(
            **{"form_class": forms.JSONField, "encoder": self.encoder, **kwargs}
        )


def is_encrypted(field: object) -> bool:
    return isinstance(field, EncryptedMixin)


def encrypted_field_names(model: type[models.Model] | models.Model) -> list[str]:
    """Names of the model's encrypted columns."""
    return [f.name for f in model._meta.concrete_fields if is_encrypted(f)]


def blind_index_fields(model: type[models.Model] | models.Model) -> dict[str, BlindIndexField]:
    """The model's blind index fields, keyed by the name of the field they index."""
    return {str(f.source): f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)}


def names_encrypted_field(model: type[models.Model] | models.Model, path: str) -> bool:
    """Whether a lookup path (``patient__dob__gte``, ``^phone``, ``-dob``) reaches an
    encrypted column of ``model`` or of a related model. Filtering, searching or ordering
    on one compares ciphertext and would put PHI in a URL (docs/architecture.md, PHI)."""
    path = path.lstrip("^=@-")
    current = model
    for name in path.split("__"):
        try:
            field = current._meta.get_field(name)
        except FieldDoesNotExist:
            return False  # a lookup or transform (gte, year, iexact): the path ended
        if is_encrypted(field):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        # Resolved to a model class once the app registry is ready (never "self" then).
        current = cast("type[models.Model]", field.related_model)
    return False
