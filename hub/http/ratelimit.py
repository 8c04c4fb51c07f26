"""Rate limits: fixed windows counted in the cache that every web process shares.

A *bucket* is a kind of action with a limit `N/SECONDS` (settings.HUB_RATE_LIMITS, each from
`HUB_RATE_LIMIT_<BUCKET>`; `0` or `off` turns it off): at most N requests per window of
SECONDS, per user (a signed-in session or a token), or per client address for anonymous
requests. Windows are aligned on the clock, so every process agrees on where one starts; the
answer past the limit is 429 in the route's style (hub/http/errors.py) with `Retry-After`
(seconds to the next window), `X-Error-Message` and the IETF `RateLimit` / `RateLimit-Policy`
headers that huggingface_hub reads (it waits and retries its uploads by them).

Where the buckets apply:
- `ROUTES` below, the one table of writes and account actions, applied by
  `RateLimitMiddleware` to unsafe methods (POST/PUT/PATCH/DELETE): reads are never counted;
- `accounts.auth.middleware`: failed token authentications (Bearer or git/LFS Basic) per
  address, refused before the next lookup once the limit is reached (`auth_failure`);
- `repos.transport.lfs_http.batch`: LFS upload batches (`upload`), told apart from downloads
  by their body;
- `accounts.auth.ratelimit`: failed password logins (its own per-user/per-address limits).

Counters live in Django's default cache: files in the data dir for the embedded default (so
`make run`'s several gunicorn workers count together), Redis with CACHE_URL. Redis counts
atomically (INCR); for the file (or database) cache a read-and-write is serialized across
processes by a lock file next to the cache, so concurrent requests cannot lose counts. A
counter expires when its window ends.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase

from hub.exceptions import TooManyRequests, out_of_space
from hub.http.client import client_ip
from hub.http.errors import hub_error_response

logger = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_REPO = r"/(?:(?:datasets|spaces)/)?[^/]+/[^/]+"
_API_REPO = r"/api/(?:models|datasets|spaces)/[^/]+/[^/]+"
# bucket -> the paths whose unsafe requests count in it (matched on request.path).
ROUTES: dict[str, re.Pattern[str]] = {
    # Account actions: creating accounts, mailing reset links, minting tokens.
    "signup": re.compile(r"^/join$"),
    "password_reset": re.compile(r"^/password-reset$"),
    "token_create": re.compile(r"^/api/tokens$|^/settings/tokens$"),
    # Writes: new repositories, commits (API, push, browser upload/edit/new file, merges,
    # super-squash) and discussions (new ones, comments, reviews).
    "repo_create": re.compile(r"^/api/repos/create$|^/new(?:-dataset)?$"),
    "commit": re.compile(rf"^{_API_REPO}/(?:commit|super-squash)/|^{_REPO}(?:\.git)?/git-receive-pack$"
                         rf"|^{_REPO}/(?:upload|edit|new-file)/|^{_API_REPO}/discussions/\d+/merge$"
                         rf"|^{_REPO}/discussions/\d+/merge$"),
    "discussion": re.compile(rf"^{_API_REPO}/discussions(?:/\d+/(?:comment|reviews))?$"
                             rf"|^{_REPO}/discussions/(?:new|\d+/(?:comment|review))$"),
}


@dataclass(frozen=True)
class Limit:
    count: int
    window: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """`N/SECONDS`; None (no limit) for `0`, `off` or an empty value."""
        text = text.strip().lower()
        if text in ("", "0", "off", "none"):
            return None
        count, _, window = text.partition("/")
        limit = cls(int(count), int(window or "60"))
        if limit.count < 1 or limit.window < 1:
            raise ValueError(f"invalid rate limit {text!r}: use N/SECONDS with N, SECONDS >= 1, or 0 for none")
        return limit


@dataclass(frozen=True)
class Verdict:
    bucket: str
    limit: Limit
    used: int  # requests counted in the current window, this one included
    reset: int  # seconds until the window ends

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit.count

    def error(self) -> TooManyRequests:
        """The 429 for this verdict (HF's headers: the client waits `t` seconds, then retries)."""
        headers = {
            "Retry-After": str(self.reset),
            "RateLimit": f'"{self.bucket}";r=0;t={self.reset}',
            "RateLimit-Policy": f'"fixed window";"{self.bucket}";q={self.limit.count};w={self.limit.window}',
        }
        return TooManyRequests(f"Too many requests: the '{self.bucket}' limit of {self.limit.count} per "
                               f"{self.limit.window} s is reached. Retry after {self.reset} seconds.",
                               headers=headers)


def limit_for(bucket: str) -> Limit | None:
    value = settings.HUB_RATE_LIMITS.get(bucket)
    if value is None or isinstance(value, Limit):
        return value
    return Limit.parse(str(value))


def principal(request: HttpRequest) -> str:
    """Whose bucket a request fills: the signed-in user's, else its client address's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request) or '-'}"


def _window(limit: Limit, now: float) -> tuple[int, int]:
    """(index of the current window, seconds until it ends)."""
    index = int(now // limit.window)
    return index, max(1, math.ceil((index + 1) * limit.window - now))


def _key(bucket: str, ident: str, index: int) -> str:
    # Hashed: cache keys must be short and safe whatever an address or name holds.
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"ratelimit:{bucket}:{digest}:{index}"


def _shared_lock_path() -> Path | None:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("RedisCache", "LocMemCache", "DummyCache")):
        return None  # atomic already (Redis INCR; one process's lock for LocMem)
    return Path(settings.DATA_DIR) / "cache" / "ratelimit.lock"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def count(bucket: str, ident: str, *, now: float | None = None) -> Verdict | None:
    """Count one request of `ident` in `bucket`; None when the bucket has no limit, or when
    the counter store is on a full disk: the limiter then lets the request through (logged).
    Failing closed would turn a full disk into a refusal of requests that write nothing (an
    LFS batch, a login): the writes themselves answer 507 where the disk is needed."""
    limit = limit_for(bucket)
    if limit is None:
        return None
    index, reset = _window(limit, time.time() if now is None else now)
    key = _key(bucket, ident, index)
    try:
        used = _increment(key, reset)
    except OSError as exc:
        if not out_of_space(exc):
            raise
        logger.warning("rate limit %s not counted: the cache's disk is full (%s)", bucket, exc)
        return None
    return Verdict(bucket, limit, used, reset)


def _increment(key: str, reset: int) -> int:
    """Add one to the counter `key` that expires in `reset` seconds; its new value."""
    lock = _shared_lock_path()
    if lock is None:
        # Redis's INCR and LocMem's incr are atomic and keep the key's expiry.
        if cache.add(key, 1, timeout=reset + 1):
            used = 1
        else:
            try:
                used = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=reset + 1)
                used = 1
    else:
        # The generic incr is a get and a set that would also reset the expiry to the default
        # timeout: under the lock, read and write with the window's own end instead.
        with _locked(lock):
            used = int(cache.get(key, 0)) + 1
            cache.set(key, used, timeout=reset + 1)
    return used


def peek(bucket: str, ident: str, *, now: float | None = None) -> Verdict | None:
    """The state of `ident`'s bucket without counting (None: no limit)."""
    limit = limit_for(bucket)
    if limit is None:
        return None
    index, reset = _window(limit, time.time() if now is None else now)
    return Verdict(bucket, limit, int(cache.get(_key(bucket, ident, index), 0)), reset)


def check(request: HttpRequest, bucket: str) -> None:
    """Count this request in `bucket` for its principal; raise TooManyRequests past the limit."""
    verdict = count(bucket, principal(request))
    if verdict is not None and not verdict.allowed:
        raise verdict.error()


def bucket_of(method: str, path: str) -> str | None:
    """The bucket of `ROUTES` an `method path` request counts in, if any."""
    if method not in UNSAFE_METHODS:
        return None
    for bucket, pattern in ROUTES.items():
        if pattern.match(path):
            return bucket
    return None


class RateLimitMiddleware:
    """Counts the unsafe requests of `ROUTES`; placed after authentication (the principal)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        bucket = bucket_of(str(request.method), request.path)
        if bucket is not None:
            try:
                check(request, bucket)
            except TooManyRequests as exc:
                return hub_error_response(exc, request)
        return self.get_response(request)
