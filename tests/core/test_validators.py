"""Tests for core.validators: NPI, MBI, HCPCS codes and modifiers, ICD-10-CM.

No database needed. Messages are compared whole, because saying precisely what is
wrong is part of the contract.
"""

import re
import string

import pytest
from django.core.exceptions import ValidationError
from django.db.migrations.writer import MigrationWriter
from hypothesis import given, settings
from hypothesis import strategies as st

from core.validators import (
    HCPCSModifierValidator,
    HCPCSValidator,
    ICD10Validator,
    MBIValidator,
    NPIValidator,
    format_icd10,
    normalize_hcpcs,
    normalize_icd10,
    normalize_mbi,
    npi_check_digit,
    validate_hcpcs,
    validate_hcpcs_modifier,
    validate_icd10,
    validate_mbi,
    validate_modifiers,
    validate_npi,
)

# The CMS MBI format as one regex, used as an independent oracle for validate_mbi.
MBI_PATTERN = re.compile(
    r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]"
    r"[AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d{2}",
    re.ASCII,
)
MODIFIER_CONFLICT_REASON = (
    "KX says the coverage requirements are met, while GA, GY and GZ say the item is "
    "expected to be denied or is not covered."
)


def assert_invalid(validator, value, message, code):
    """Assert that ``validator(value)`` raises exactly ``message`` with ``code``."""
    with pytest.raises(ValidationError, match=re.escape(message)) as excinfo:
        validator(value)
    assert excinfo.value.messages == [message]
    assert excinfo.value.code == code
    return excinfo.value


# NPI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_nine", "check_digit"),
    [("123456789", 3), ("155859879", 7)],
)
def test_it_computes_the_npi_check_digit_with_the_80840_prefix(first_nine, check_digit):
    assert npi_check_digit(first_nine) == check_digit


@pytest.mark.parametrize("first_nine", ["12345678", "1234567890", "12345678a", "", "1234 5678"])
def test_it_refuses_to_compute_a_check_digit_without_nine_digits(first_nine):
    with pytest.raises(ValueError, match="nine digits"):
        npi_check_digit(first_nine)


@pytest.mark.parametrize("npi", ["1234567893", "1558598797"])
def test_it_accepts_valid_npis(npi):
    validate_npi(npi)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("123456789", "NPI must be exactly 10 digits; got 9."),
        ("12345678931", "NPI must be exactly 10 digits; got 11."),
        ("", "NPI must be exactly 10 digits; got 0."),
        ("12345A7893", "NPI position 6 must be a digit 0-9; got 'A'."),
        (" 1234567893", "NPI position 1 must be a digit 0-9; got ' '."),
        ("123456789-3", "NPI position 10 must be a digit 0-9; got '-'."),
        ("3234567893", "NPI must start with 1 or 2; got 3."),
        ("0234567893", "NPI must start with 1 or 2; got 0."),
        ("1234567894", "NPI check digit is wrong: expected 3, got 4."),
        ("1558598790", "NPI check digit is wrong: expected 7, got 0."),
        (1234567893, "NPI must be a string; got int."),
        (None, "NPI must be a string; got NoneType."),
    ],
)
def test_it_says_what_is_wrong_with_an_invalid_npi(value, message):
    assert_invalid(validate_npi, value, message, "invalid_npi")


@settings(max_examples=200, deadline=None)
@given(prefix=st.from_regex(r"[12][0-9]{8}", fullmatch=True))
def test_it_accepts_every_built_npi_and_refuses_every_single_digit_change(prefix):
    npi = prefix + str(npi_check_digit(prefix))
    validate_npi(npi)
    for position in range(10):
        for digit in string.digits:
            if digit == npi[position]:
                continue
            changed = npi[:position] + digit + npi[position + 1 :]
            # A changed first digit may fail the "1 or 2" rule rather than the check
            # digit; either way it must fail.
            with pytest.raises(ValidationError) as excinfo:
                validate_npi(changed)
            assert excinfo.value.code == "invalid_npi"


# MBI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("1EG4TE5MK73", "1EG4TE5MK73"),
        ("1eg4-te5-mk73", "1EG4TE5MK73"),
        (" 1EG4 TE5 MK73 ", "1EG4TE5MK73"),
        ("1EG4\tTE5-MK73\n", "1EG4TE5MK73"),
    ],
)
def test_it_normalizes_an_mbi(value, normalized):
    assert normalize_mbi(value) == normalized


@pytest.mark.parametrize(
    "mbi",
    ["1EG4TE5MK73", "1eg4-te5-mk73", "1EG4 TE5 MK73", "9A04A05AA00", "2YY9YY9YY99"],
)
def test_it_accepts_valid_mbis(mbi):
    validate_mbi(mbi)


LETTER_RULE = "a letter other than S, L, O, I, B, Z"
LETTER_OR_DIGIT_RULE = "a digit or a letter other than S, L, O, I, B, Z"

INVALID_MBIS = [
    (
        "1EG4TE5MK7",
        "MBI must be exactly 11 characters, not counting spaces and dashes; got 10.",
    ),
    (
        "1EG4TE5MK733",
        "MBI must be exactly 11 characters, not counting spaces and dashes; got 12.",
    ),
    ("", "MBI must be exactly 11 characters, not counting spaces and dashes; got 0."),
    ("0EG4TE5MK73", "MBI position 1 must be a digit 1-9; got '0'."),
    ("AEG4TE5MK73", "MBI position 1 must be a digit 1-9; got 'A'."),
    ("1SG4TE5MK73", f"MBI position 2 must be {LETTER_RULE}; got 'S'."),
    ("12G4TE5MK73", f"MBI position 2 must be {LETTER_RULE}; got '2'."),
    ("1EO4TE5MK73", f"MBI position 3 must be {LETTER_OR_DIGIT_RULE}; got 'O'."),
    ("1EGATE5MK73", "MBI position 4 must be a digit 0-9; got 'A'."),
    ("1EG4IE5MK73", f"MBI position 5 must be {LETTER_RULE}; got 'I'."),
    ("1EG4#E5MK73", f"MBI position 5 must be {LETTER_RULE}; got '#'."),
    ("1EG4TB5MK73", f"MBI position 6 must be {LETTER_OR_DIGIT_RULE}; got 'B'."),
    ("1EG4TEXMK73", "MBI position 7 must be a digit 0-9; got 'X'."),
    ("1EG4TE5ZK73", f"MBI position 8 must be {LETTER_RULE}; got 'Z'."),
    ("1EG4TE5M773", f"MBI position 9 must be {LETTER_RULE}; got '7'."),
    ("1EG4TE5MKL3", "MBI position 10 must be a digit 0-9; got 'L'."),
    ("1EG4TE5MK7A", "MBI position 11 must be a digit 0-9; got 'A'."),
    # Lower case is normalised first, so the refused letter is reported upper case.
    ("1sg4-te5-mk73", f"MBI position 2 must be {LETTER_RULE}; got 'S'."),
    # Only the first failing position is reported.
    ("0SO4TE5MK73", "MBI position 1 must be a digit 1-9; got '0'."),
    (11111111111, "MBI must be a string; got int."),
]


@pytest.mark.parametrize(("value", "message"), INVALID_MBIS)
def test_it_says_which_mbi_position_is_wrong(value, message):
    assert_invalid(validate_mbi, value, message, "invalid_mbi")


@pytest.mark.parametrize("value", [v for v, _ in INVALID_MBIS if isinstance(v, str) and v])
def test_it_never_puts_the_mbi_in_the_message(value):
    # An MBI is PHI: messages may name one character, never the identifier.
    with pytest.raises(ValidationError) as excinfo:
        validate_mbi(value)
    message = excinfo.value.messages[0]
    assert value not in message
    assert normalize_mbi(value) not in message
    assert normalize_mbi(value)[:4] not in message


@st.composite
def mbis_with_one_change(draw):
    """A valid MBI with one position replaced by any upper-case letter, digit or '#'."""
    mbi = draw(st.from_regex(MBI_PATTERN, fullmatch=True))
    position = draw(st.integers(min_value=0, max_value=10))
    char = draw(st.sampled_from(string.ascii_uppercase + string.digits + "#"))
    return mbi[:position] + char + mbi[position + 1 :], position + 1


@settings(max_examples=200, deadline=None)
@given(case=mbis_with_one_change())
def test_it_agrees_with_the_cms_mbi_regex(case):
    mbi, changed_position = case
    if MBI_PATTERN.fullmatch(mbi):
        validate_mbi(mbi)
    else:
        with pytest.raises(ValidationError) as excinfo:
            validate_mbi(mbi)
        assert excinfo.value.code == "invalid_mbi"
        assert excinfo.value.messages[0].startswith(f"MBI position {changed_position} ")


# HCPCS codes -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["E0601", "K0001", "A7030", "L3960", "B4035"])
def test_it_accepts_valid_hcpcs_codes(code):
    validate_hcpcs(code)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("e0601", "HCPCS code position 1 must be an upper-case letter A-Z; got 'e'."),
        ("00601", "HCPCS code position 1 must be an upper-case letter A-Z; got '0'."),
        ("E06O1", "HCPCS code position 4 must be a digit; got 'O'."),
        ("EE601", "HCPCS code position 2 must be a digit; got 'E'."),
        ("E060", "HCPCS code must be 5 characters, one letter and four digits; got 4."),
        (
            "E06011",
            "HCPCS code must be 5 characters, one letter and four digits; got 6.",
        ),
        (
            " E0601",
            "HCPCS code must be 5 characters, one letter and four digits; got 6.",
        ),
        ("", "HCPCS code must be 5 characters, one letter and four digits; got 0."),
        (None, "HCPCS code must be a string; got NoneType."),
    ],
)
def test_it_says_what_is_wrong_with_an_invalid_hcpcs_code(value, message):
    assert_invalid(validate_hcpcs, value, message, "invalid_hcpcs")


@pytest.mark.parametrize(
    ("value", "normalized"),
    [(" e0601 ", "E0601"), ("k0001", "K0001"), ("A7030", "A7030"), (" rr", "RR")],
)
def test_it_normalizes_hcpcs_input_into_a_valid_code(value, normalized):
    assert normalize_hcpcs(value) == normalized


def test_it_accepts_a_lower_case_hcpcs_code_once_normalized():
    validate_hcpcs(normalize_hcpcs(" e0601 "))


# HCPCS modifiers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "modifier",
    ["RR", "NU", "UE", "KH", "KI", "KJ", "KX", "GA", "GY", "GZ", "LT", "RT", "59"],
)
def test_it_accepts_valid_modifiers(modifier):
    validate_hcpcs_modifier(modifier)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "rr",
            "HCPCS modifier position 1 must be an upper-case letter or digit; got 'r'.",
        ),
        (
            "R-",
            "HCPCS modifier position 2 must be an upper-case letter or digit; got '-'.",
        ),
        ("R", "HCPCS modifier must be exactly 2 characters; got 1."),
        ("RRR", "HCPCS modifier must be exactly 2 characters; got 3."),
        ("", "HCPCS modifier must be exactly 2 characters; got 0."),
        (59, "HCPCS modifier must be a string; got int."),
    ],
)
def test_it_says_what_is_wrong_with_an_invalid_modifier(value, message):
    assert_invalid(validate_hcpcs_modifier, value, message, "invalid_hcpcs_modifier")


@pytest.mark.parametrize(
    "modifiers",
    [[], ["RR"], ["KX"], ["RR", "KX"], ["NU", "KX", "LT", "59"], ["GA"], ("RR", "GY")],
)
def test_it_accepts_a_valid_modifier_list(modifiers):
    validate_modifiers(modifiers)


def test_it_refuses_five_modifiers():
    assert_invalid(
        validate_modifiers,
        ["RR", "NU", "KX", "LT", "59"],
        "A claim line takes at most 4 modifiers; got 5.",
        "too_many_modifiers",
    )


@pytest.mark.parametrize(
    ("modifiers", "duplicate"),
    [(["RR", "RR"], "RR"), (["NU", "KX", "NU"], "NU")],
)
def test_it_refuses_duplicate_modifiers(modifiers, duplicate):
    assert_invalid(
        validate_modifiers,
        modifiers,
        f"Modifier {duplicate} is listed more than once; use it only once.",
        "duplicate_modifier",
    )


@pytest.mark.parametrize(
    ("modifiers", "conflicts"),
    [
        (["KX", "GA"], "GA"),
        (["GA", "KX"], "GA"),
        (["RR", "KX", "GY"], "GY"),
        (["GZ", "KX"], "GZ"),
        (["KX", "GA", "GZ"], "GA, GZ"),
    ],
)
def test_it_refuses_kx_together_with_ga_gy_or_gz(modifiers, conflicts):
    assert_invalid(
        validate_modifiers,
        modifiers,
        f"Modifier KX cannot be combined with {conflicts} on the same line: "
        + MODIFIER_CONFLICT_REASON,
        "conflicting_modifiers",
    )


@pytest.mark.parametrize(
    ("modifiers", "message"),
    [
        (
            ["RR", "kx"],
            "Modifier 2 position 1 must be an upper-case letter or digit; got 'k'.",
        ),
        (["RRR"], "Modifier 1 must be exactly 2 characters; got 3."),
        (["RR", None], "Modifier 2 must be a string; got NoneType."),
    ],
)
def test_it_names_the_invalid_modifier_in_a_list(modifiers, message):
    assert_invalid(validate_modifiers, modifiers, message, "invalid_hcpcs_modifier")


@pytest.mark.parametrize(("value", "type_name"), [("RRKX", "str"), (None, "NoneType")])
def test_it_refuses_modifiers_that_are_not_a_list(value, type_name):
    assert_invalid(
        validate_modifiers,
        value,
        f"Modifiers must be a list of modifier codes; got {type_name}.",
        "invalid_modifiers",
    )


# ICD-10-CM ---------------------------------------------------------------------------

# (stored form, display form)
ICD10_CODES = [
    ("G4733", "G47.33"),
    ("J449", "J44.9"),
    ("E1165", "E11.65"),
    ("U071", "U07.1"),
    ("S72001A", "S72.001A"),
    ("T1490XA", "T14.90XA"),
    ("Z3A38", "Z3A.38"),
    ("I10", "I10"),
]


@pytest.mark.parametrize(("stored", "display"), ICD10_CODES)
def test_it_formats_and_normalizes_icd10_codes_both_ways(stored, display):
    assert format_icd10(stored) == display
    assert normalize_icd10(display) == stored
    assert normalize_icd10(format_icd10(stored)) == stored
    # Formatting an already formatted code changes nothing.
    assert format_icd10(display) == display


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        (" g47.33 ", "G4733"),
        ("e11.65", "E1165"),
        ("I10", "I10"),
        ("t1490xa", "T1490XA"),
    ],
)
def test_it_normalizes_icd10_input(value, normalized):
    assert normalize_icd10(value) == normalized


@pytest.mark.parametrize(
    "code",
    [code for pair in ICD10_CODES for code in pair]
    + [" g47.33 ", "e1165", "u07.1", "C4A.0", "M1A.0711"],
)
def test_it_accepts_icd10_codes_with_or_without_the_dot(code):
    validate_icd10(code)


ICD10_LENGTH = "ICD-10-CM code must be 3 to 7 characters, not counting the dot; got {}."
ICD10_DOT = (
    "ICD-10-CM code has its dot at position {}; the dot goes after the 3rd character, as in G47.33."
)
ICD10_CHARACTER = "ICD-10-CM code character {}, not counting the dot, must be {}; got {!r}."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "ICD-10-CM code is empty."),
        ("   ", "ICD-10-CM code is empty."),
        ("G4", ICD10_LENGTH.format(2)),
        ("S72001AA", ICD10_LENGTH.format(8)),
        ("S72.001AA", ICD10_LENGTH.format(8)),
        ("G4.733", ICD10_DOT.format(3)),
        ("G473.3", ICD10_DOT.format(5)),
        (".G4733", ICD10_DOT.format(1)),
        ("G47.3.3", "ICD-10-CM code may contain at most one dot; got 2."),
        ("G47.", "ICD-10-CM code ends with a dot; drop it or add 1-4 characters."),
        ("147.33", ICD10_CHARACTER.format(1, "a letter A-Z", "1")),
        ("GA7.33", ICD10_CHARACTER.format(2, "a digit 0-9", "A")),
        ("G4-.33", ICD10_CHARACTER.format(3, "a letter or digit", "-")),
        ("G47.3#", ICD10_CHARACTER.format(5, "a letter or digit", "#")),
        (None, "ICD-10-CM code must be a string; got NoneType."),
    ],
)
def test_it_says_what_is_wrong_with_an_invalid_icd10_code(value, message):
    assert_invalid(validate_icd10, value, message, "invalid_icd10")


# Class validators --------------------------------------------------------------------

CLASS_VALIDATORS = [
    (NPIValidator, "1234567893", "1234567894", "invalid_npi"),
    (MBIValidator, "1EG4-TE5-MK73", "1SG4TE5MK73", "invalid_mbi"),
    (HCPCSValidator, "E0601", "e0601", "invalid_hcpcs"),
    (HCPCSModifierValidator, "KX", "KXX", "invalid_hcpcs_modifier"),
    (ICD10Validator, "G47.33", "G4.733", "invalid_icd10"),
]


@pytest.mark.parametrize(("validator_class", "valid", "invalid", "code"), CLASS_VALIDATORS)
def test_it_delegates_class_validators_to_the_functions(validator_class, valid, invalid, code):
    validator = validator_class()
    validator(valid)
    with pytest.raises(ValidationError) as excinfo:
        validator(invalid)
    assert excinfo.value.code == code


@pytest.mark.parametrize("validator_class", [case[0] for case in CLASS_VALIDATORS])
def test_it_makes_class_validators_serializable_for_migrations(validator_class):
    name = validator_class.__name__
    validator = validator_class()
    assert validator.deconstruct() == (f"core.validators.{name}", (), {})
    assert MigrationWriter.serialize(validator) == (
        f"core.validators.{name}()",
        {"import core.validators"},
    )
    # Migrations compare validators with == to detect field changes.
    assert validator == validator_class()
    assert hash(validator) == hash(validator_class())


def test_it_tells_class_validators_of_different_kinds_apart():
    assert NPIValidator() != MBIValidator()
    assert HCPCSValidator() != HCPCSModifierValidator()
    assert NPIValidator() != "NPIValidator"
