"""Data quality: a registry of set-based checks, each run stored with its findings.

Apps register their checks in ``<app>/checks_dq.py`` (imported at start-up)::

    from core.quality import Severity, register

    @register("clinical.provider_npi_format", severity=Severity.ERROR, model=Provider,
              description="Providers whose NPI fails the Luhn check.")
    def provider_npi_format():
        return Provider.objects.exclude(npi__regex=r"^[12][0-9]{9}$")

A check returns the QuerySet of offending rows (the runner counts them and keeps a
few ids, never values) or a :class:`Outcome` for checks that are not about rows
(freshness, ratios).
"""

from .registry import Check, Outcome, Severity, get_checks, register

__all__ = ["Check", "Outcome", "Severity", "get_checks", "register"]
