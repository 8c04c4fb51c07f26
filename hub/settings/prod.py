"""Production: secrets and hosts must come from the environment."""
import os

from .base import *  # noqa: F401,F403
from .base import PUBLIC_URL

SECRET_KEY = os.environ["SECRET_KEY"]
SESSION_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
