"""`GET /api/{type}s/{id}/xet-read-token/{rev}` and `xet-write-token/{rev}[?create_pr=1]`: the
door to the Xet CAS (XET.md §2.1).

Scoped by the gate exactly like the repository: a read token needs the right to download its
files (hidden == missing, gated repositories need access); a write token needs write access for
a branch, or the right to propose changes for a pull request (`rev` = `None`, `?create_pr=1`, or
a `refs/pr/N`). Fine-grained token scopes apply through the gate; a read-only hub token never
gets a write CAS token. The answer carries the token twice, as JSON (read by hf_xet) and as
`X-Xet-*` headers (read by huggingface_hub).
"""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts.permissions import request_principal
from hub.http.api import api_view, json_response
from hub.http.inputs import query_bool
from repos.api.patterns import repo_from_api_request
from repos.handles import git_repo_for_read
from repos.revisions import git_errors_as_http
from repos.services import xet as cas
from repos.xet.tokens import token_answer


def _answer(token: str, expires_at: int) -> JsonResponse:
    body, headers = token_answer(cas_url=cas.cas_url(), token=token, expires_at=expires_at)
    response = json_response(body, headers=headers)
    response["Cache-Control"] = "no-store"
    return response


@api_view("GET")
def xet_read_token(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> JsonResponse:
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, files=True)
    with git_errors_as_http():
        sha = git_repo_for_read(repo).resolve(rev)
    user, hub_token = request_principal(request)
    token, expires_at = cas.cas_token_issue(repo=repo, user=user, token=hub_token, scope="read", revision=sha,
                                            create_pr=False)
    return _answer(token, expires_at)


@api_view("GET")
def xet_write_token(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> JsonResponse:
    create_pr = query_bool(request.GET.get("create_pr"))
    revision = None if rev in ("", "None") else rev
    action = cas.write_action(revision=revision, create_pr=create_pr)
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action=action)
    user, hub_token = request_principal(request)
    token, expires_at = cas.cas_token_issue(repo=repo, user=user, token=hub_token, scope="write",
                                            revision=revision, create_pr=create_pr)
    return _answer(token, expires_at)
