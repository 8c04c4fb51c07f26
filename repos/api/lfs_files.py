"""`list_lfs_files` and `permanently_delete_lfs_files` (HF_PROTOCOL.md §4.7): the large
files a repository holds, for its writers."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.http.api import api_view, json_response
from hub.http.dates import hf_date
from hub.http.inputs import validated_input
from hub.http.pagination import cursor_offset, encode_cursor, set_next_link
from repos import objects
from repos.api.patterns import repo_from_api_request
from repos.handles import git_repo_for_read
from repos.selectors.lfs import lfs_files_of

PAGE_SIZE = 1000
_SHA256 = r"^[0-9a-f]{64}$"


@api_view("GET")
def lfs_files_api(request: HttpRequest, plural: str, namespace: str, name: str) -> JsonResponse:
    """`GET /api/{type}s/{id}/lfs-files`: the repository's large files (writers; Link pages)."""
    repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
    offset = cursor_offset(request)
    rows = lfs_files_of(repo=repo, git=git_repo_for_read(repo), offset=offset, limit=PAGE_SIZE + 1)
    items: list[dict[str, Any]] = [
        {"fileOid": row.oid, "oid": row.oid, "filename": row.filename, "size": row.size,
         "pushedAt": hf_date(row.pushed_at), "ref": row.ref}
        for row in rows[:PAGE_SIZE]]
    cursor = encode_cursor({"o": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else None
    return set_next_link(json_response(items), request, request.path, cursor)  # type: ignore[return-value]


class LfsFilesBatchApi(APIView):
    """`POST /api/{type}s/{id}/lfs-files/batch` `{"deletions": {"sha": [...], "rewriteHistory": bool}}`:
    the repository stops holding these objects (admins). Pointers in its history are kept
    (history is not rewritten): downloading them answers EntryNotFound."""

    class Deletions(serializers.Serializer):
        sha = serializers.ListField(child=serializers.RegexField(_SHA256), max_length=1000)
        rewriteHistory = serializers.BooleanField(required=False, default=True)  # noqa: N815 - HF's key

    class InputSerializer(serializers.Serializer):
        deletions = serializers.DictField()

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="admin")
        body = validated_input(self.InputSerializer, request.data)
        deletions = validated_input(self.Deletions, body["deletions"])
        removed = objects.unlink(repo=repo, oids=deletions["sha"])
        return Response({"deleted": removed})
