"""Production: secrets and hosts must come from the environment.

HTTPS is decided by HUB_PUBLIC_URL: with `https://...` the hub runs behind a TLS-terminating
reverse proxy (gunicorn binds 127.0.0.1, see README "HTTPS deployment") and
- session and CSRF cookies are `Secure`;
- HSTS is sent (HUB_HSTS_SECONDS, default one year; includeSubDomains unless
  HUB_HSTS_INCLUDE_SUBDOMAINS=0; preload unless HUB_HSTS_PRELOAD=0 - the flag only allows a
  submission to the browsers' preload list, which stays a manual step);
- plain-HTTP requests are redirected to HTTPS (HUB_SSL_REDIRECT=0 leaves that to the proxy);
- a request counts as HTTPS when the proxy says so in `X-Forwarded-Proto: https`
  (SECURE_PROXY_SSL_HEADER; HUB_TRUST_PROXY_SSL_HEADER=0 turns it off). Only safe because the
  web server listens on loopback and the proxy overwrites that header on every request.
`python manage.py check --deploy --fail-level WARNING` is clean in that configuration
(tests/ops/test_deploy_check.py).
"""
import os

from .base import *  # noqa: F401,F403
from .base import PUBLIC_URL, env_bool

SECRET_KEY = os.environ["SECRET_KEY"]
# A public deployment does not let strangers create accounts unless the operator says so.
HUB_OPEN_SIGNUP = env_bool("HUB_OPEN_SIGNUP", False)
# A production hub never invents its master key: a missing key is an error, not a new key.
HUB_MASTER_KEY_GENERATE = env_bool("HUB_MASTER_KEY_GENERATE", False)
HTTPS = PUBLIC_URL.startswith("https://")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_HSTS_SECONDS = int(os.environ.get("HUB_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HUB_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HUB_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = env_bool("HUB_SSL_REDIRECT", True)
    if env_bool("HUB_TRUST_PROXY_SSL_HEADER", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
