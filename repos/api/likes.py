"""Likes: `like` (ours; the Hub likes only from its web UI), `unlike`, `list_repo_likers`,
`list_liked_repos` (HF_PROTOCOL.md §3.8)."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import request_principal, require_signed_in
from accounts.selectors import user_by_name
from hub.http.api import api_view, json_response
from hub.http.dates import hf_date
from hub.http.pagination import cursor_offset, encode_cursor, set_next_link
from repos.api.patterns import repo_from_api_request
from repos.selectors.likes import repo_likers, user_likes_visible
from repos.services.likes import repo_like, repo_unlike

PAGE_SIZE = 100


class RepoLikeApi(APIView):
    """`POST /api/{type}s/{id}/like` likes the repository, `DELETE` unlikes it (HF `unlike`);
    any signed-in user who can read it. Answers the new count."""

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        user, _token = require_signed_in(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
        repo_like(repo=repo, user=user)
        repo.refresh_from_db(fields=["likes"])
        return Response({"liked": True, "likes": repo.likes})

    def delete(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        user, _token = require_signed_in(request)
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
        repo_unlike(repo=repo, user=user)
        repo.refresh_from_db(fields=["likes"])
        return Response({"liked": False, "likes": repo.likes})


@api_view("GET")
def repo_likers_api(request: HttpRequest, plural: str, namespace: str, name: str) -> JsonResponse:
    """`GET /api/{type}s/{id}/likers`: who likes the repository, newest first (Link pages)."""
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name)
    offset = cursor_offset(request)
    rows = list(repo_likers(repo=repo)[offset:offset + PAGE_SIZE + 1])
    items = [{"user": like.user.username, "fullname": like.user.fullname or like.user.username, "avatarUrl": None,
              "type": "user"} for like in rows[:PAGE_SIZE]]
    cursor = encode_cursor({"o": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else None
    return set_next_link(json_response(items), request, request.path, cursor)  # type: ignore[return-value]


@api_view("GET")
def user_likes_api(request: HttpRequest, username: str) -> JsonResponse:
    """`GET /api/users/{user}/likes`: the repositories a user likes that the caller can see."""
    viewer, token = request_principal(request)
    user = user_by_name(username)
    offset = cursor_offset(request)
    rows = list(user_likes_visible(user=user, viewer=viewer, token=token)[offset:offset + PAGE_SIZE + 1])
    items = [{"createdAt": hf_date(like.created_at),
              "repo": {"name": like.repository.repo_id, "type": like.repository.repo_type}}
             for like in rows[:PAGE_SIZE]]
    cursor = encode_cursor({"o": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else None
    return set_next_link(json_response(items), request, request.path, cursor)  # type: ignore[return-value]
