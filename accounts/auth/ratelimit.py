"""Login rate limiting: a fixed window of failed attempts per client address and per
(address, username), kept in Django's cache.

For the login view:

    if not login_allowed(request, username):
        return <429 with LOCKED_MESSAGE>      # before checking the password at all
    user = authenticate(...)                  # a failure is counted by the
                                              # `user_login_failed` receiver (accounts.auth.signals)
    on success: login_succeeded(request, username) clears the (address, username) counter

`RateLimitedModelBackend` refuses to authenticate while the limit is reached, so every
password form (ours, the admin's) is covered even if a view forgets to ask. With several web
processes, configure a shared cache (Redis) so the counters are shared too.
"""
from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

LOCKED_MESSAGE = "Too many failed login attempts. Please wait a few minutes and try again."


def _limits() -> tuple[int, int, int]:
    """(failures per address+username, failures per address, window seconds)."""
    return (int(getattr(settings, "LOGIN_FAILURES_PER_USER", 10)),
            int(getattr(settings, "LOGIN_FAILURES_PER_IP", 50)),
            int(getattr(settings, "LOGIN_FAILURE_WINDOW", 300)))


def _ip(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") or "-") if request is not None else "-"


def _keys(request: HttpRequest | None, username: str) -> tuple[str, str]:
    # Hashed: cache keys must be short and safe whatever the username holds.
    name = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    ip = _ip(request)
    return f"login-fail:u:{ip}:{name}", f"login-fail:ip:{ip}"


def login_allowed(request: HttpRequest | None, username: str) -> bool:
    """False once the address (or the address for this username) failed too often lately."""
    per_user, per_ip, _window = _limits()
    user_key, ip_key = _keys(request, username)
    return int(cache.get(user_key, 0)) < per_user and int(cache.get(ip_key, 0)) < per_ip


def login_failed(request: HttpRequest | None, username: str) -> None:
    """Count one failure (the window starts with the first failure and is not extended)."""
    _per_user, _per_ip, window = _limits()
    for key in _keys(request, username):
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


def login_succeeded(request: HttpRequest | None, username: str) -> None:
    cache.delete(_keys(request, username)[0])


class RateLimitedModelBackend(ModelBackend):
    """ModelBackend that refuses any password check while the caller is rate limited."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> Any:
        if username is None:
            username = kwargs.get(self._username_field(), "")
        if not login_allowed(request, username or ""):
            raise PermissionDenied(LOCKED_MESSAGE)
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
