"""The client address behind trusted proxies only."""

import pytest

from kernel.client_address import client_address, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.5, ::1")


def test_x_forwarded_for_is_ignored_by_default():
    assert client_address("203.0.113.7", "1.2.3.4", ()) == "203.0.113.7"


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer():
    assert client_address("203.0.113.7", "1.2.3.4", PROXIES) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client():
    # A client may write anything left of what our proxies appended.
    assert client_address("10.1.2.3", "6.6.6.6, 198.51.100.9", PROXIES) == "198.51.100.9"
    assert client_address("10.1.2.3", "198.51.100.9, 192.168.1.5", PROXIES) == "198.51.100.9"
    assert client_address("::1", "2001:db8::5", PROXIES) == "2001:db8::5"


def test_a_trusted_proxy_without_the_header_or_with_garbage_is_the_client():
    assert client_address("10.1.2.3", "", PROXIES) == "10.1.2.3"
    assert client_address("10.1.2.3", "not-an-ip", PROXIES) == "10.1.2.3"
    assert client_address("10.1.2.3", "10.0.0.9", PROXIES) == "10.0.0.9"


def test_bad_settings_name_the_setting():
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match=r"TRUSTED_PROXIES.*'10\.0\.0\.300'"):
        parse_networks("10.0.0.1, 10.0.0.300")
