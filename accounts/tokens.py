"""Access-token creation and lookup: the one home of the token format."""
from __future__ import annotations

import secrets
from datetime import datetime

from django.utils import timezone

from accounts.models import AccessToken, User

TOKEN_PREFIX = "hf_"  # clients check startswith("hf_") in places


def token_create(*, user: User, name: str, role: str = AccessToken.Role.READ,
                 expires_at: datetime | None = None) -> tuple[AccessToken, str]:
    """Create a token and return it with its secret, which is never stored."""
    if role not in AccessToken.Role.values:
        raise ValueError(f"unknown token role {role!r}")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user, name=name, role=role, key_hash=AccessToken.hash_key(key), prefix=key[:8],
        expires_at=expires_at,
    )
    return token, key


def token_authenticate(key: str) -> AccessToken | None:
    """The active token for `key`, or None (unknown, revoked, expired or inactive user)."""
    if not key or len(key) > 200:
        return None
    try:
        token = AccessToken.objects.select_related("user").get(key_hash=AccessToken.hash_key(key))
    except AccessToken.DoesNotExist:
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    # Throttle the write: a token used by a download loop must not turn every GET into a
    # database write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_revoke(*, token: AccessToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
