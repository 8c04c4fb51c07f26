"""`POST /api/validate-yaml` (HF_PROTOCOL.md §6.6): always answers JSON.

huggingface_hub reads `response.json()` before looking at the status, so even a malformed
request gets `{"errors": [...], "warnings": []}`. `RepoCard.validate` asks for text/plain
and shows the body of a 400 verbatim; it gets the messages as plain lines. What is checked:
`repos.cards.validate_yaml_front_matter` (syntax) and `repos.card_validation` (the Hub's rules:
license identifiers, model-index shape; a warning for a card without metadata).
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from hub.exceptions import BadRequest
from hub.http.errors import header_value
from hub.http.json_body import parse_json
from hub.http.openapi import document
from repos.cards import validate_yaml_front_matter

MAX_README_BYTES = 10 * 1024 * 1024
_MESSAGES = {"type": "array", "items": {"type": "object", "required": ["message"],
                                        "properties": {"message": {"type": "string"}}}}
# Every JSON answer, success or refusal (the client reads it before the status).
VALIDATION = {"type": "object", "required": ["errors", "warnings"],
              "properties": {"errors": _MESSAGES, "warnings": _MESSAGES}}


def _answer(request: HttpRequest, errors: list[str], status: int | None = None,
            warnings: list[str] | None = None) -> HttpResponse:
    status = status or (400 if errors else 200)
    response: HttpResponse
    if errors and "text/plain" in request.headers.get("Accept", "") and "json" not in request.headers.get("Accept", ""):
        response = HttpResponse("\n".join(errors), status=status, content_type="text/plain; charset=utf-8")
    else:
        response = JsonResponse({"errors": [{"message": e} for e in errors],
                                 "warnings": [{"message": w} for w in warnings or []]}, status=status)
    if errors:
        response["X-Error-Message"] = header_value(errors[0])
    return response


def _content(request: HttpRequest) -> tuple[str | None, str]:
    """The card text and the repository type of the request (JSON, or 0.x's form)."""
    if request.content_type == "application/json" or not request.content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            data = parse_json(request.body or b"null")
        except BadRequest:
            return None, "model"
        if not isinstance(data, dict):
            return None, "model"
        content, repo_type = data.get("content"), data.get("repoType")
    else:
        try:
            # huggingface_hub 0.x posts a form
            content, repo_type = request.POST.get("content"), request.POST.get("repoType")
        except MultiPartParserError:
            return None, "model"
    return (content if isinstance(content, str) else None), (repo_type if isinstance(repo_type, str) else "model")


@document("POST", body="application/json", responses={"200": VALIDATION, "400": VALIDATION, "4XX": VALIDATION})
@csrf_exempt
def validate_yaml(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _answer(request, [f"Method {request.method} not allowed"], status=405)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_README_BYTES:
        return _answer(request, ["README.md is too large to validate"], status=413)
    content, repo_type = _content(request)
    if content is None:
        return _answer(request, ["Expected a JSON body with a string 'content'"])
    errors, warnings = validate_yaml_front_matter(content, repo_type)
    return _answer(request, errors, warnings=warnings)
