"""Our diff endpoints: `GET /api/{T}/{id}/compare/{a...b}` (files, line counts, key-level config
and card changes, the checkpoints touched; `?raw=1` for the unified diff as text) and
`GET /api/{T}/{id}/tensor-diff/{a...b}[?path=]` (tensor-level diffs of those checkpoints:
header facts at once, numbers when complete, `state` and progress while the worker computes).

Both read file contents, so on a gated repository they need download access like `/resolve/`.
"""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.exceptions import BadRequest, EntryNotFound
from hub.http.inputs import query_bool
from repos.git import errors as git_errors
from repos.git.diff import unified_diff
from repos.handles import git_repo_for_read
from repos.reviews.api.discussions import repo_for
from repos.reviews.selectors.compare import CompareRange, changes, compare_range
from repos.reviews.services.tensor_diffs import TensorDiffView, tensor_diff_view
from repos.revisions import git_errors_as_http

MAX_RAW_DIFF = 16 * 1024 * 1024


class CompareApi(APIView):
    class FileSerializer(serializers.Serializer):
        path = serializers.CharField()
        oldPath = serializers.CharField(source="old_path", allow_null=True)  # noqa: N815
        status = serializers.CharField()
        additions = serializers.IntegerField()
        deletions = serializers.IntegerField()
        isBinary = serializers.BooleanField(source="is_binary")  # noqa: N815
        isLfs = serializers.BooleanField(source="is_lfs")  # noqa: N815

    def get(self, request: Request, spec: str, **kwargs: str) -> Response | HttpResponse:
        repo = repo_for(request, kwargs, files=True)
        span = compare_range(repo=repo, spec=spec)
        if query_bool(request.query_params.get("raw")):
            with git_errors_as_http():
                text = unified_diff(git_repo_for_read(repo), span.old, span.new)
            if len(text) > MAX_RAW_DIFF:
                raise BadRequest("This diff is too large to return as text")
            return HttpResponse(text, content_type="text/x-diff; charset=utf-8")
        found = changes(repo=repo, old=span.old, new=span.new)
        return Response({
            "base": span.old, "head": span.new, "tooLarge": found.too_large, "filesNotShown": found.hidden,
            "files": self.FileSerializer(found.files, many=True).data,
            "structured": [{"path": s.path, "what": s.what, "truncated": s.truncated,
                            "keys": [k.__dict__ for k in s.keys]} for s in found.structured],
            "checkpoints": [{"kind": c.kind, "oldPath": c.old_path, "newPath": c.new_path}
                            for c in found.checkpoints],
        })


def tensor_diff_item(view: TensorDiffView) -> dict[str, Any]:
    return {"path": view.pair.path, "kind": view.pair.kind, "oldPath": view.pair.old_path,
            "newPath": view.pair.new_path, "state": view.state, "complete": view.complete, "error": view.error,
            "progress": {"done": view.bytes_done, "total": view.bytes_total},
            "result": view.result.to_dict() if view.result is not None else None}


def tensor_diff_views(*, repo: Any, span: CompareRange, path: str | None) -> list[TensorDiffView]:
    found = changes(repo=repo, old=span.old, new=span.new)
    pairs = found.checkpoints
    if path:
        pairs = [p for p in pairs if path in (p.path, p.old_path, p.new_path)]
        if not pairs:
            raise EntryNotFound(f"No changed safetensors checkpoint at {path}")
    if span.old is None:
        raise BadRequest("Nothing to compare against")
    return [tensor_diff_view(repo=repo, old_sha=span.old, new_sha=span.new, pair=p) for p in pairs]


class TensorDiffApi(APIView):
    def get(self, request: Request, spec: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, files=True)
        span = compare_range(repo=repo, spec=spec)
        try:
            views = tensor_diff_views(repo=repo, span=span, path=request.query_params.get("path") or None)
        except git_errors.TreeTooLarge as exc:
            raise BadRequest(str(exc)) from exc
        return Response({"base": span.old, "head": span.new, "checkpoints": [tensor_diff_item(v) for v in views]})
