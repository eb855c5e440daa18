"""Concurrency helper for tests that race real transactions (PostgreSQL,
``django_db(transaction=True)``): the one ``race()`` every app's tests use."""

import threading

from django.db import connection

BARRIER_TIMEOUT = 30  # seconds for every thread to reach the start line
JOIN_TIMEOUT = 120  # seconds for each thread to finish


def race(calls):
    """Run the callables at the same moment, one thread each; return each one's result
    or the exception it raised, in the order of ``calls``. Each thread closes its own
    database connection when done."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
            results[index] = call()
        except Exception as error:  # the outcome under test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    return results
