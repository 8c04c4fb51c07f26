"""Small API endpoints: client start-up probes."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from hub.http.api import api_view


@api_view("GET")
def agent_harnesses(request: HttpRequest) -> JsonResponse:
    """Telemetry probe of new clients; answered so they don't log errors."""
    return JsonResponse({"standardEnvVars": [], "harnesses": {}})
