"""Slow queries are logged by their SQL shape and duration, never their parameters."""

import logging

import pytest
from django.db import connection
from django.test import override_settings

from core import slow_queries

pytestmark = pytest.mark.django_db

# A value that looks like PHI (an MBI): it must never reach the log.
PHI_LIKE = "1EG4TE5MK73"


def slow_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "core.slow_queries"]


def test_every_connection_has_the_timer():
    connection.ensure_connection()
    timers = [w for w in connection.execute_wrappers if isinstance(w, slow_queries.QueryTimer)]
    assert len(timers) == 1


@override_settings(SLOW_QUERY_MS=0)
def test_a_slow_query_is_logged_without_its_parameters(caplog):
    with (
        caplog.at_level(logging.WARNING, logger="core.slow_queries"),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT %s AS value", [PHI_LIKE])
    lines = slow_lines(caplog)
    assert lines, "the query was not logged"
    assert "SELECT %s AS value" in lines[-1]
    assert "ms on default" in lines[-1]
    assert all(PHI_LIKE not in line for line in lines)


def test_a_really_slow_query_on_postgresql(postgres_only, caplog, settings):
    settings.SLOW_QUERY_MS = 200
    with (
        caplog.at_level(logging.WARNING, logger="core.slow_queries"),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_sleep(0.3), %s::text AS mbi", [PHI_LIKE])
        cursor.execute("SELECT %s::text AS fast", [PHI_LIKE])
    lines = slow_lines(caplog)
    assert len(lines) == 1
    assert "pg_sleep(0.3)" in lines[0]
    assert PHI_LIKE not in lines[0]


def test_fast_queries_are_not_logged(caplog, settings):
    settings.SLOW_QUERY_MS = 60_000
    with (
        caplog.at_level(logging.WARNING, logger="core.slow_queries"),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT %s AS value", [PHI_LIKE])
    assert slow_lines(caplog) == []


@override_settings(SLOW_QUERY_MS=0)
def test_orm_queries_are_logged_by_shape(caplog, company):
    from accounts.models import Company

    with caplog.at_level(logging.WARNING, logger="core.slow_queries"):
        list(Company.objects.filter(name="Secret Name Inc"))
    lines = slow_lines(caplog)
    assert any('FROM "accounts_company"' in line for line in lines)
    assert all("Secret Name Inc" not in line for line in lines)


def test_a_connection_opened_inside_an_execute_wrapper_block_keeps_its_timer():
    def passthrough(execute, sql, params, many, context):
        return execute(sql, params, many, context)

    with connection.execute_wrapper(passthrough):
        slow_queries.install(connection=connection)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert any(isinstance(w, slow_queries.QueryTimer) for w in connection.execute_wrappers)
    assert passthrough not in connection.execute_wrappers
