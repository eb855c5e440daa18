"""The fuzz run's figures (operations, cases, answers by status), printed after the run."""

from collections import Counter

import pytest

_FIGURES = {"operations": set(), "statuses": Counter()}


@pytest.fixture(scope="session")
def fuzz_figures():
    return _FIGURES


def pytest_terminal_summary(terminalreporter):
    statuses = _FIGURES["statuses"]
    if not statuses:
        return
    by_status = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
    server_errors = sum(count for code, count in statuses.items() if code >= 500)
    terminalreporter.write_line(
        f"fuzz: {len(_FIGURES['operations'])} operations, {statuses.total()} cases, "
        f"{server_errors} server errors ({by_status})"
    )
