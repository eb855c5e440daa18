"""Every query is counted and timed; the slow ones are logged by their shape.

:func:`install` (connected to ``connection_created`` in ``CoreConfig.ready()``) adds
one execute wrapper to each database connection, web requests and Celery workers
alike. It feeds ``core.metrics`` (queries and their time per alias) and logs, on the
``core.slow_queries`` logger at WARNING, any query that took ``SLOW_QUERY_MS``
milliseconds or more (default 1000; 0 logs every query) with its duration and its SQL
*shape*: the statement as Django sends it, with ``%s`` placeholders. The parameters
(names, blind indexes, dates of birth...) are never logged.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from . import metrics

logger = logging.getLogger(__name__)
# Long statements (an IN list of 500 placeholders) are cut: the shape is what matters.
MAX_SQL_CHARS = 2000


class QueryTimer:
    """The execute wrapper of one connection (its alias labels the metrics)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            metrics.DB_QUERIES.labels(alias=self.alias).inc()
            metrics.DB_QUERY_SECONDS.labels(alias=self.alias).inc(elapsed)
            threshold = settings.SLOW_QUERY_MS
            if threshold is not None and elapsed * 1000 >= threshold:
                metrics.SLOW_QUERIES.labels(alias=self.alias).inc()
                shape = " ".join(str(sql).split())
                if len(shape) > MAX_SQL_CHARS:
                    shape = shape[:MAX_SQL_CHARS] + " ..."
                logger.warning(
                    "slow query: %.1f ms on %s%s: %s",
                    elapsed * 1000,
                    self.alias,
                    " (many)" if many else "",
                    shape,
                )


def install(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """Add the timer to ``connection`` once (the wrapper list outlives reconnects).

    First in the list: ``connection.execute_wrapper()`` blocks pop the last wrapper, so
    a connection opened inside one must not put the timer in their place."""
    if connection is None:
        return
    if not any(isinstance(wrapper, QueryTimer) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.insert(0, QueryTimer(connection.alias))
