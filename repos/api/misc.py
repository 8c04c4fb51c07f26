"""Small API endpoints: Xet refusal, client start-up probes."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hub.http.errors import error_response


@csrf_exempt
def xet_token(request: HttpRequest, **kwargs: str) -> JsonResponse:
    """Xet storage is not offered: fail fast and say what to do (HF_PROTOCOL.md §6.9)."""
    return error_response(
        501,
        "Xet storage is not supported by this server; set HF_HUB_DISABLE_XET=1 to upload through Git LFS",
        code="XetNotSupported",
        request=request,
    )


def agent_harnesses(request: HttpRequest) -> JsonResponse:
    """Telemetry probe of new clients; answered so they don't log errors."""
    return JsonResponse({"standardEnvVars": [], "harnesses": {}})
