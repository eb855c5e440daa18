"""Validators for the identifiers and codes AriesOne exchanges with payers.

Every check here is a *format* check: it proves a value is well formed, not that it
exists (that needs NPPES, the CMS eligibility service or a code table). The rules come
from these sources:

* **NPI** (National Provider Identifier): CMS, "Requirements for National Provider
  Identifier (NPI) and NPI Enumerator" / "NPI Check Digit". Ten digits, the first 1 or
  2, the last a Luhn (ISO/IEC 7812) check digit. The Luhn sum runs over the nine
  leading digits prefixed with ``80840``, the ISO 7812 card issuer identifier for US
  health applications (80 = health, 840 = United States). Valid: 1234567893.
* **MBI** (Medicare Beneficiary Identifier): CMS, "Understanding the Medicare
  Beneficiary Identifier (MBI) Format". Eleven characters, position by position: 1 a
  digit 1-9; 2, 5, 8 and 9 a letter; 3 and 6 a letter or digit; 4, 7, 10 and 11 a
  digit. Letters never include S, L, O, I, B or Z, too easily read as 5, 1, 0, 1, 8
  and 2. Cards show it as ``1EG4-TE5-MK73``; the dashes are not part of it.
* **HCPCS Level II** (CMS Healthcare Common Procedure Coding System): codes are one
  letter and four digits (E0601, K0001, A7030); modifiers are two letters or digits
  (RR, NU, KX, LT, 59). A claim line (CMS-1500 item 24D, 837P SV101-3 to SV101-6)
  carries at most four modifiers. KX says the coverage requirements of the DMEPOS
  policy are met; GA and GZ say Medicare is expected to deny the item (with and
  without an ABN on file) and GY that it is statutorily excluded, so KX contradicts
  each of them on one line.
* **ICD-10-CM** (CDC/NCHS, ICD-10-CM Official Guidelines for Coding and Reporting):
  3 to 7 characters; a letter, a digit, a letter or digit, then up to four letters or
  digits. The dot after the third character is display only, so codes are stored
  without it (``G4733``) and shown with it (``G47.33``). A 7th-character extension
  keeps its position with the placeholder X (``T1490XA``).

Messages say exactly what is wrong, and every error has a ``code``. An MBI is PHI, so
its messages name the failing position and character, never the whole value.

Each rule is a plain function (``validate_npi``...) and a deconstructible class
(``NPIValidator``...) for ``validators=[...]`` on model fields, so migrations can
serialise it. Normalisers (``normalize_mbi``...) are for form and API input:
validators never silently rewrite a value, except that ``validate_mbi`` and
``validate_icd10`` check the normalised form, so both spellings pass.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "HCPCSModifierValidator",
    "HCPCSValidator",
    "ICD10Validator",
    "MBIValidator",
    "NPIValidator",
    "format_icd10",
    "normalize_hcpcs",
    "normalize_icd10",
    "normalize_mbi",
    "npi_check_digit",
    "validate_hcpcs",
    "validate_hcpcs_modifier",
    "validate_icd10",
    "validate_mbi",
    "validate_modifiers",
]

# Explicit ASCII sets rather than str.isdigit()/isalpha(): those accept "²", "٣" or "É".
DIGITS = frozenset("0123456789")
UPPERCASE_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
UPPERCASE_ALPHANUMERIC = UPPERCASE_LETTERS | DIGITS


def _type_error(label: "StrOrPromise", value: object, code: str) -> ValidationError:
    return ValidationError(
        _("%(label)s must be a string; got %(type)s."),
        code=code,
        params={"label": label, "type": type(value).__name__},
    )


# NPI ---------------------------------------------------------------------------------

# ISO 7812 issuer prefix for US health applications; CMS computes the NPI check digit
# as if the NPI were a card number behind it.
NPI_LUHN_PREFIX = "80840"


def npi_check_digit(first_nine: str) -> int:
    """Return the NPI check digit for the first nine digits of an NPI.

    Luhn over ``"80840" + first_nine``. Raises ``ValueError`` unless ``first_nine`` is
    exactly nine ASCII digits, since that is a programming error, not bad user input.
    """
    if len(first_nine) != 9 or not DIGITS.issuperset(first_nine):
        raise ValueError(f"Expected exactly nine digits, got {first_nine!r}.")
    total = 0
    # Walk from the right. The check digit will be appended on the right, so the
    # rightmost digit here is the first one Luhn doubles.
    for index, char in enumerate(reversed(NPI_LUHN_PREFIX + first_nine)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def validate_npi(value: object) -> None:
    """Check a 10-digit NPI: digits only, first digit 1 or 2, valid check digit."""
    code = "invalid_npi"
    if not isinstance(value, str):
        raise _type_error("NPI", value, code)
    for position, char in enumerate(value, start=1):
        if char not in DIGITS:
            raise ValidationError(
                _("NPI position %(position)d must be a digit 0-9; got %(char)r."),
                code=code,
                params={"position": position, "char": char},
            )
    if len(value) != 10:
        raise ValidationError(
            _("NPI must be exactly 10 digits; got %(length)d."),
            code=code,
            params={"length": len(value)},
        )
    if value[0] not in "12":
        raise ValidationError(
            _("NPI must start with 1 or 2; got %(first)s."),
            code=code,
            params={"first": value[0]},
        )
    expected = npi_check_digit(value[:9])
    if int(value[9]) != expected:
        raise ValidationError(
            _("NPI check digit is wrong: expected %(expected)d, got %(actual)s."),
            code=code,
            params={"expected": expected, "actual": value[9]},
        )


# MBI ---------------------------------------------------------------------------------

MBI_LETTERS = UPPERCASE_LETTERS - frozenset("SLOIBZ")
MBI_LENGTH = 11
# 1-based positions of the CMS format specification.
MBI_LETTER_POSITIONS = frozenset({2, 5, 8, 9})
MBI_LETTER_OR_DIGIT_POSITIONS = frozenset({3, 6})


def normalize_mbi(value: str) -> str:
    """Return an MBI without spaces or dashes, in upper case.

    ``1eg4-te5-mk73`` -> ``1EG4TE5MK73``.
    """
    # Same rule as core.phi.normalize_identifier, so the blind index and the validator
    # agree on what counts as the same MBI.
    return "".join(char for char in value if not char.isspace() and char != "-").upper()


def _mbi_position_error(position: int, char: str, rule: "StrOrPromise") -> ValidationError:
    return ValidationError(
        _("MBI position %(position)d must be %(rule)s; got %(char)r."),
        code="invalid_mbi",
        params={"position": position, "rule": rule, "char": char},
    )


def validate_mbi(value: object) -> None:
    r"""Check a Medicare Beneficiary Identifier against the CMS format.

    Spaces, dashes and lower case are accepted (the value is normalised first). The
    error names the first failing position and its character, never the whole MBI.
    Equivalent to ``^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]
    [AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d{2}$`` on the normalised value.
    """
    code = "invalid_mbi"
    if not isinstance(value, str):
        raise _type_error("MBI", value, code)
    mbi = normalize_mbi(value)
    if len(mbi) != MBI_LENGTH:
        raise ValidationError(
            _("MBI must be exactly 11 characters, not counting spaces and dashes; got %(length)d."),
            code=code,
            params={"length": len(mbi)},
        )
    for position, char in enumerate(mbi, start=1):
        if position == 1:
            if char not in DIGITS or char == "0":
                raise _mbi_position_error(position, char, _("a digit 1-9"))
        elif position in MBI_LETTER_POSITIONS:
            if char not in MBI_LETTERS:
                raise _mbi_position_error(position, char, _("a letter other than S, L, O, I, B, Z"))
        elif position in MBI_LETTER_OR_DIGIT_POSITIONS:
            if char not in MBI_LETTERS and char not in DIGITS:
                raise _mbi_position_error(
                    position, char, _("a digit or a letter other than S, L, O, I, B, Z")
                )
        elif char not in DIGITS:
            raise _mbi_position_error(position, char, _("a digit 0-9"))


# HCPCS -------------------------------------------------------------------------------

MAX_MODIFIERS_PER_LINE = 4
# KX attests that the policy's coverage requirements are met; each of these says the
# opposite (expected denial, or not a Medicare benefit at all).
MODIFIERS_CONFLICTING_WITH_KX = ("GA", "GY", "GZ")


def normalize_hcpcs(value: str) -> str:
    """Return a HCPCS code or modifier stripped, upper case (``e0601`` -> ``E0601``)."""
    return value.strip().upper()


def validate_hcpcs(value: object) -> None:
    """Check a HCPCS Level II code: one upper-case letter then four digits (``E0601``).

    Lower case is refused; run form input through :func:`normalize_hcpcs` first.
    """
    code = "invalid_hcpcs"
    if not isinstance(value, str):
        raise _type_error("HCPCS code", value, code)
    if len(value) != 5:
        raise ValidationError(
            _("HCPCS code must be 5 characters, one letter and four digits; got %(length)d."),
            code=code,
            params={"length": len(value)},
        )
    if value[0] not in UPPERCASE_LETTERS:
        raise ValidationError(
            _("HCPCS code position 1 must be an upper-case letter A-Z; got %(char)r."),
            code=code,
            params={"char": value[0]},
        )
    for position, char in enumerate(value[1:], start=2):
        if char not in DIGITS:
            raise ValidationError(
                _("HCPCS code position %(position)d must be a digit; got %(char)r."),
                code=code,
                params={"position": position, "char": char},
            )


def _check_modifier(value: object, label: "StrOrPromise") -> None:
    # Shared by validate_hcpcs_modifier and validate_modifiers, which only differ in
    # how they name the modifier ("HCPCS modifier" or "Modifier 3").
    code = "invalid_hcpcs_modifier"
    if not isinstance(value, str):
        raise _type_error(label, value, code)
    if len(value) != 2:
        raise ValidationError(
            _("%(label)s must be exactly 2 characters; got %(length)d."),
            code=code,
            params={"label": label, "length": len(value)},
        )
    for position, char in enumerate(value, start=1):
        if char not in UPPERCASE_ALPHANUMERIC:
            raise ValidationError(
                _(
                    "%(label)s position %(position)d must be an upper-case letter or "
                    "digit; got %(char)r."
                ),
                code=code,
                params={"label": label, "position": position, "char": char},
            )


def validate_hcpcs_modifier(value: object) -> None:
    """Check one HCPCS modifier: two upper-case letters or digits (``RR``, ``59``)."""
    _check_modifier(value, _("HCPCS modifier"))


def validate_modifiers(modifiers: list[str]) -> None:
    """Check the modifiers of one claim line.

    At most four, each a valid modifier, none repeated, and KX never with GA, GY or GZ.
    An empty list is valid.
    """
    # A string is a sequence too: "RRKX" would otherwise pass as four 1-char items.
    if isinstance(modifiers, str) or not isinstance(modifiers, list | tuple):
        raise ValidationError(
            _("Modifiers must be a list of modifier codes; got %(type)s."),
            code="invalid_modifiers",
            params={"type": type(modifiers).__name__},
        )
    if len(modifiers) > MAX_MODIFIERS_PER_LINE:
        raise ValidationError(
            _("A claim line takes at most %(max)d modifiers; got %(count)d."),
            code="too_many_modifiers",
            params={"max": MAX_MODIFIERS_PER_LINE, "count": len(modifiers)},
        )
    seen = set()
    for index, modifier in enumerate(modifiers, start=1):
        # format_lazy, not %, so the label is translated only when the message is shown.
        _check_modifier(modifier, format_lazy(_("Modifier {index}"), index=index))
        if modifier in seen:
            raise ValidationError(
                _("Modifier %(modifier)s is listed more than once; use it only once."),
                code="duplicate_modifier",
                params={"modifier": modifier},
            )
        seen.add(modifier)
    if "KX" in seen:
        conflicts = [m for m in modifiers if m in MODIFIERS_CONFLICTING_WITH_KX]
        if conflicts:
            raise ValidationError(
                _(
                    "Modifier KX cannot be combined with %(conflicts)s on the same "
                    "line: KX says the coverage requirements are met, while GA, GY "
                    "and GZ say the item is expected to be denied or is not covered."
                ),
                code="conflicting_modifiers",
                params={"conflicts": ", ".join(conflicts)},
            )


# ICD-10-CM ---------------------------------------------------------------------------

ICD10_MIN_LENGTH = 3
ICD10_MAX_LENGTH = 7
# Category (3 characters) comes before the dot; everything after it is subcategory.
ICD10_DOT_INDEX = 3


def normalize_icd10(value: str) -> str:
    """Return an ICD-10-CM code as stored: stripped, upper case, no dot (``G4733``)."""
    return value.strip().upper().replace(".", "")


def format_icd10(stored: str) -> str:
    """Return an ICD-10-CM code for display, dot after the 3rd character (``G47.33``).

    Codes of three characters have no dot (``I10``). Already-dotted or lower-case input
    is normalised first, so formatting twice is harmless.
    """
    code = normalize_icd10(stored)
    if len(code) <= ICD10_DOT_INDEX:
        return code
    return f"{code[:ICD10_DOT_INDEX]}.{code[ICD10_DOT_INDEX:]}"


def validate_icd10(value: object) -> None:
    """Check the format of an ICD-10-CM code, with or without its dot.

    ``G47.33`` and ``G4733`` both pass. Lower case and surrounding spaces are accepted:
    the normalised form is checked. The code is not looked up in the code table.
    """
    code = "invalid_icd10"
    if not isinstance(value, str):
        raise _type_error("ICD-10-CM code", value, code)
    text = value.strip().upper()
    if not text:
        raise ValidationError(_("ICD-10-CM code is empty."), code=code)
    # The dot has to be checked before normalize_icd10 drops it: "G4.733" would
    # otherwise pass as G4733.
    dots = text.count(".")
    if dots > 1:
        raise ValidationError(
            _("ICD-10-CM code may contain at most one dot; got %(dots)d."),
            code=code,
            params={"dots": dots},
        )
    if dots == 1:
        dot_position = text.index(".") + 1
        if dot_position != ICD10_DOT_INDEX + 1:
            raise ValidationError(
                _(
                    "ICD-10-CM code has its dot at position %(position)d; the dot goes "
                    "after the 3rd character, as in G47.33."
                ),
                code=code,
                params={"position": dot_position},
            )
        if dot_position == len(text):
            raise ValidationError(
                _("ICD-10-CM code ends with a dot; drop it or add 1-4 characters."),
                code=code,
            )
    icd10 = normalize_icd10(text)
    if not ICD10_MIN_LENGTH <= len(icd10) <= ICD10_MAX_LENGTH:
        raise ValidationError(
            _("ICD-10-CM code must be 3 to 7 characters, not counting the dot; got %(length)d."),
            code=code,
            params={"length": len(icd10)},
        )
    for position, char in enumerate(icd10, start=1):
        if position == 1:
            allowed, rule = UPPERCASE_LETTERS, _("a letter A-Z")
        elif position == 2:
            allowed, rule = DIGITS, _("a digit 0-9")
        else:
            allowed, rule = UPPERCASE_ALPHANUMERIC, _("a letter or digit")
        if char not in allowed:
            raise ValidationError(
                _(
                    "ICD-10-CM code character %(position)d, not counting the dot, "
                    "must be %(rule)s; got %(char)r."
                ),
                code=code,
                params={"position": position, "rule": rule, "char": char},
            )


# Class validators for model fields ---------------------------------------------------


class _FunctionValidator:
    """Base for validators that delegate to one of the functions above.

    They take no arguments, so any two instances of the same class are equal; migrations
    compare validators with ``==`` to decide whether a field changed.
    """

    validate: Callable[[object], None]

    def __call__(self, value: object) -> None:
        self.validate(value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _FunctionValidator):
            return NotImplemented
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@deconstructible
class NPIValidator(_FunctionValidator):
    """Model field validator for :func:`validate_npi`."""

    validate = staticmethod(validate_npi)


@deconstructible
class MBIValidator(_FunctionValidator):
    """Model field validator for :func:`validate_mbi`."""

    validate = staticmethod(validate_mbi)


@deconstructible
class HCPCSValidator(_FunctionValidator):
    """Model field validator for :func:`validate_hcpcs`."""

    validate = staticmethod(validate_hcpcs)


@deconstructible
class HCPCSModifierValidator(_FunctionValidator):
    """Model field validator for :func:`validate_hcpcs_modifier`."""

    validate = staticmethod(validate_hcpcs_modifier)


@deconstructible
class ICD10Validator(_FunctionValidator):
    """Model field validator for :func:`validate_icd10`."""

    validate = staticmethod(validate_icd10)
