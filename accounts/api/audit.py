"""The audit log as a JSON export (organization and repository admins download it)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse, JsonResponse

from accounts.models import AuditEvent
from hub.http.dates import hf_date
from hub.http.errors import header_value


def serialize_audit_event(event: AuditEvent) -> dict[str, Any]:
    return {"id": str(event.pk), "createdAt": hf_date(event.created_at), "action": event.action,
            "actor": event.actor.username if event.actor else None, "target": event.target,
            "ip": event.ip, "data": event.data}


def audit_export(events: Iterable[AuditEvent], *, filename: str) -> HttpResponse:
    response = JsonResponse([serialize_audit_event(e) for e in events], safe=False)
    response["Content-Disposition"] = header_value(f'attachment; filename="{filename}"')
    return response
