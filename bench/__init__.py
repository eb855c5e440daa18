"""Benchmarks that print ratios: how staff pages and API calls grow with the data.

``make bench`` (``python -m bench``) seeds two databases with ``seed_demo --scale``, a
small one and a large one, measures the same requests against both and prints each
one's time at both sizes and the ratio large/small. A ratio near 1 means the page does
not grow with the table. Never part of the test suite: timings belong here, not in
assertions. See docs/benchmarks.md.
"""
