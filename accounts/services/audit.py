"""The audit log: one row per security-relevant action. Services of every app write it here."""
from __future__ import annotations

from accounts.models import AuditEvent, User

_SECRET_KEYS = ("password", "secret", "token", "key", "authorization")


def audit(*, action: str, actor: User | None = None, target: str = "", ip: str | None = None,
          **data: object) -> AuditEvent:
    """Record one security event by `actor` from address `ip`. Values under secret-looking keys
    are never stored: the audit log must not become a place to steal credentials from."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    clean = {k: v for k, v in data.items() if not any(word in k.lower() for word in _SECRET_KEYS)}
    return AuditEvent.objects.create(action=action, actor=actor, target=target, ip=ip, data=clean)
