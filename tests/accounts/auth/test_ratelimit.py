"""Login rate limiting: per address and username, on every password path."""
from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.test import RequestFactory, override_settings

from accounts.auth.ratelimit import login_allowed, login_failed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def _request(ip: str = "198.51.100.1"):
    return RequestFactory().post("/login", REMOTE_ADDR=ip)


@override_settings(LOGIN_FAILURES_PER_USER=3)
def test_failures_lock_the_username_from_that_address_even_with_the_right_password():
    UserFactory(username="ann", password="Right-Passw0rd!")
    for _ in range(3):
        assert authenticate(_request(), username="ann", password="wrong") is None
    assert not login_allowed(_request(), "ann")
    assert authenticate(_request(), username="ann", password="Right-Passw0rd!") is None
    # Another address, or another username, is not affected.
    assert authenticate(_request("198.51.100.2"), username="ann", password="Right-Passw0rd!") is not None
    assert login_allowed(_request(), "ben")


@override_settings(LOGIN_FAILURES_PER_USER=100, LOGIN_FAILURES_PER_IP=5)
def test_one_address_trying_many_usernames_is_limited():
    for i in range(5):
        login_failed(_request(), f"user{i}")
    assert not login_allowed(_request(), "someone-else")
    assert login_allowed(_request("198.51.100.9"), "someone-else")


@override_settings(LOGIN_FAILURES_PER_USER=3)
def test_a_success_clears_the_username_counter():
    UserFactory(username="ann", password="Right-Passw0rd!")
    client_ip = {"REMOTE_ADDR": "198.51.100.3"}
    from django.test import Client

    client = Client(**client_ip)
    for _ in range(2):
        client.post("/login", {"username": "ann", "password": "wrong"})
    client.post("/login", {"username": "ann", "password": "Right-Passw0rd!"})
    for _ in range(2):
        client.post("/login", {"username": "ann", "password": "wrong"})
    assert login_allowed(_request("198.51.100.3"), "ann")
