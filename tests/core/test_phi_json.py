"""EncryptedJSONField: JSON in, JSON out, a Fernet token in between."""

import datetime
import decimal

from django import forms
from django.db import connection
from rest_framework import serializers
from rest_framework.utils.field_mapping import ClassLookupDict

from core.api.serializers import TenantModelSerializer
from core.phi import EncryptedJSONField, encrypted_field_names, is_encrypted

VALUE = {"ahi": 32.5, "events": [1, 2, 3], "note": "Uses CPAP nightly", "ok": True}


def test_it_stores_a_fernet_token_and_reads_back_the_object():
    field = EncryptedJSONField()
    stored = field.get_db_prep_save(VALUE, connection)
    assert stored.startswith("gAAAAA")
    assert "CPAP" not in stored
    assert field.from_db_value(stored, None, connection) == VALUE
    # Randomised like every encrypted column: the same value twice gives two tokens.
    assert field.get_db_prep_save(VALUE, connection) != stored


def test_it_round_trips_every_json_shape_and_keeps_null_as_null():
    field = EncryptedJSONField(null=True)
    for value in [[], {}, 0, 0.93, "text", ["a", {"b": None}], False]:
        stored = field.get_db_prep_save(value, connection)
        assert field.from_db_value(stored, None, connection) == value
    assert field.get_db_prep_save(None, connection) is None
    assert field.from_db_value(None, None, connection) is None


def test_it_encodes_dates_and_decimals_with_djangos_encoder():
    field = EncryptedJSONField()
    stored = field.get_db_prep_save(
        {"on": datetime.date(2026, 1, 2), "spo2": decimal.Decimal("88.5")}, connection
    )
    assert field.from_db_value(stored, None, connection) == {"on": "2026-01-02", "spo2": "88.5"}


def test_python_values_pass_through_validation_untouched():
    field = EncryptedJSONField(blank=True)
    assert field.clean({"a": 1}, None) == {"a": 1}
    # A str is a JSON string, never mistaken for a token.
    assert field.to_python("gAAAAAnot-a-token") == "gAAAAAnot-a-token"


def test_it_is_an_encrypted_field_so_audit_masks_it():
    field = EncryptedJSONField()
    assert is_encrypted(field)


def test_it_offers_a_json_form_field_and_deconstructs_without_defaults():
    field = EncryptedJSONField(blank=True, default=dict)
    assert isinstance(field.formfield(), forms.JSONField)
    _, path, _, kwargs = field.deconstruct()
    assert path == "core.phi.EncryptedJSONField"
    assert "encoder" not in kwargs
    assert kwargs["default"] is dict


def test_tenant_serializers_map_it_to_a_json_field():
    mapping = ClassLookupDict(TenantModelSerializer.serializer_field_mapping)
    assert mapping[EncryptedJSONField()] is serializers.JSONField


def test_encrypted_field_names_lists_it():
    from clinical.models import PredictionLog

    assert {"input_data", "prediction"} <= set(encrypted_field_names(PredictionLog))
