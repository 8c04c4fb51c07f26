"""Calling the JSON API with the Django test client, as the HF client does."""
from __future__ import annotations

import json

from django.test import Client

from tests.factories import auth

ORG = "acme"


def call(client: Client, method: str, path: str, key: str | None = None, body: object = None) -> object:
    """`method path` with `body` as JSON, sending the token `key` (none: anonymous)."""
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, path, data, content_type="application/json", **auth(key))
