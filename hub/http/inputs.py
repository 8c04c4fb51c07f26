"""Input of API requests: query parameters and validated bodies, with HF's spellings."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import serializers

from hub.exceptions import BadRequest


def query_bool(value: str | None, default: bool = False) -> bool:
    """httpx sends true/false, requests True/False, some endpoints 1."""
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes"}


def query_list(request: HttpRequest, key: str) -> list[str]:
    """Repeated query values, accepting both `key=` and the `key[]=` spelling."""
    return [v for v in request.GET.getlist(key) + request.GET.getlist(f"{key}[]") if v != ""]


def query_int(request: HttpRequest, key: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter clamped to [minimum, maximum]; 400 if it is not an integer."""
    raw = request.GET.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {key}: {raw!r}") from None
    return max(minimum, min(value, maximum))


def validated_input(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """A request body (a JSON object or form) validated by `serializer_class`; 400 with the
    serializer's messages otherwise."""
    if not hasattr(data, "get") or isinstance(data, list | str):
        raise BadRequest("Expected a JSON object")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
