"""The unread-notification count of the page header, computed only when a page shows it."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.permissions import is_signed_in


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not is_signed_in(user):
        return {}

    def count() -> int:
        from repos.reviews.selectors.notifications import unread_count

        return unread_count(user=user, token=getattr(request, "auth_token", None))  # type: ignore[arg-type]
    return {"unread_notifications": SimpleLazyObject(count)}
