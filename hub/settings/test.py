"""Test settings: fast hashing, no persisted secret, data under a per-run temp dir."""
import os
import tempfile

os.environ.setdefault("HUB_DATA_DIR", tempfile.mkdtemp(prefix="hub-test-"))
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")

from .base import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# In-process tests: a per-process cache is enough and fastest.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rate limits off: the in-process suites send hundreds of writes and bad tokens per test.
# The rate-limit tests turn on the buckets they exercise (override_settings).
HUB_RATE_LIMITS = {bucket: "0" for bucket in HUB_RATE_LIMITS}  # noqa: F405
