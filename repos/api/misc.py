"""Small API endpoints: client start-up probes, and the answer to repo ids without a namespace."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import RepoNotFound
from hub.http.api import api_view
from hub.http.errors import hub_error_response
from hub.http.openapi import ERROR_JSON, document


@api_view("GET")
def agent_harnesses(request: HttpRequest) -> JsonResponse:
    """Telemetry probe of new clients; answered so they don't log errors."""
    return JsonResponse({"standardEnvVars": [], "harnesses": {}})


@document("GET", "HEAD", responses={"404": ERROR_JSON})
@csrf_exempt
def namespaceless_repo(request: HttpRequest, **kwargs: str) -> HttpResponse:
    """`/api/models/gpt2`, `/gpt2/resolve/main/config.json`: ids without a namespace (the Hub's
    legacy canonical repos) name no repository here. RepoNotFound in the client's JSON style
    (also on the resolve route, which the path alone would take for a page) lets `repo_exists`
    and `file_exists` answer False instead of raising."""
    return hub_error_response(RepoNotFound(), request, style="json")
