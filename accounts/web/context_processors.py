"""What every page's header needs to know about the site's account settings."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    """`open_signup`: whether pages offer "Sign up" (HUB_OPEN_SIGNUP)."""
    return {"open_signup": settings.HUB_OPEN_SIGNUP}
