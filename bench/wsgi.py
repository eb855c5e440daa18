"""The load test's WSGI application (``python -m bench.loadtest``): the project's own,
with DEBUG's per-query recording switched off.

The bench databases are seeded under DEBUG's development keys, so the server starts
with DEBUG on (production settings refuse those keys); DEBUG on makes every query go
through Django's recording cursor, a cost production never pays. Only the flag is
turned off, after the settings are loaded: everything the settings derived from it
(cookies, HSTS, static storage) stays as it was computed.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402 - after setup, by design
from django.core.wsgi import get_wsgi_application  # noqa: E402

settings.DEBUG = False
application = get_wsgi_application()
