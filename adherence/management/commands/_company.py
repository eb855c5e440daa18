"""The --company option the adherence commands share."""

import uuid

from django.core.management.base import CommandError

from accounts.models import Company


def companies_from(values, *, required: bool = False):
    """The companies named by ``--company`` ids (every active one when none given,
    unless ``required``)."""
    if not values:
        if required:
            raise CommandError("--company is required: the company id (a UUID).")
        return list(Company.objects.filter(is_active=True).order_by("name"))
    try:
        ids = [uuid.UUID(str(value)) for value in values]
    except ValueError:
        raise CommandError("--company takes a company id (a UUID).") from None
    companies = list(Company.objects.filter(pk__in=ids).order_by("name"))
    if len(companies) != len(set(ids)):
        raise CommandError("No company with that id.")
    return companies
