"""Money fields: one precision for every amount (claims, payments, prices, costs)."""

from typing import TypedDict


class MoneyOptions(TypedDict):
    """Keyword arguments of a money ``DecimalField`` (Django model or DRF serializer)."""

    max_digits: int
    decimal_places: int


# Twelve digits with cents: amounts up to 9,999,999,999.99.
MONEY: MoneyOptions = {"max_digits": 12, "decimal_places": 2}
