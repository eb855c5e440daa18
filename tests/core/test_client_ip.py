"""The client address trusts X-Forwarded-For only from our own proxies (NUM_PROXIES)."""

import pytest
from django.test import RequestFactory

from core.context import client_ip


def request_with(forwarded=None, remote="10.0.0.9"):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_it_ignores_the_header_without_proxies(settings):
    settings.NUM_PROXIES = 0
    assert client_ip(request_with("1.2.3.4")) == "10.0.0.9"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        # A client-written value in front is never taken: our proxy appended the last hop.
        ("6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("6.6.6.6,  5.5.5.5 , 203.0.113.7", "203.0.113.7"),
    ],
)
def test_it_takes_the_hop_our_proxy_appended(settings, forwarded, expected):
    settings.NUM_PROXIES = 1
    assert client_ip(request_with(forwarded)) == expected


def test_it_counts_hops_from_the_right_with_two_proxies(settings):
    settings.NUM_PROXIES = 2
    assert client_ip(request_with("6.6.6.6, 203.0.113.7, 10.1.1.1")) == "203.0.113.7"
    # Fewer hops than proxies: the leftmost one there is.
    assert client_ip(request_with("203.0.113.7")) == "203.0.113.7"


def test_it_falls_back_to_the_peer_without_a_header(settings):
    settings.NUM_PROXIES = 1
    assert client_ip(request_with()) == "10.0.0.9"


def test_drf_throttles_use_the_same_setting(settings):
    from django.conf import settings as live

    assert live.REST_FRAMEWORK["NUM_PROXIES"] == live.NUM_PROXIES
