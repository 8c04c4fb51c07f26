"""Regex fragments of HF URLs, shared by every route list, and the repository they name."""
from __future__ import annotations

from typing import Any

from repos.gate import Action, repo_from_request
from repos.models import Repository
from repos.models.repository import repo_type_for_plural

T = r"(?P<plural>models|datasets|spaces)"
ID = r"(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"
# Web/git/resolve URL prefix: "" for models, "datasets/" or "spaces/".
PREFIX = r"(?:(?P<prefix>datasets|spaces)/)?"


def repo_from_api_request(request: Any, *, plural: str, namespace: str, name: str, action: Action = "read",
                          files: bool = False) -> Repository:
    """`repos.gate.repo_from_request` for the `/api/{plural}/{namespace}/{name}/...` routes."""
    return repo_from_request(request, repo_type=repo_type_for_plural(plural), namespace=namespace, name=name,
                             action=action, surface="api", files=files)

