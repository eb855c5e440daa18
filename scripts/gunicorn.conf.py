"""gunicorn settings: ``gunicorn config.wsgi -c scripts/gunicorn.conf.py``.

With ``PROMETHEUS_MULTIPROC_DIR`` set (docs/operations.md, Metrics), a worker that exits
is marked dead so that its gauges (the pool's) leave the sums of ``/metrics``.
"""

import os


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
