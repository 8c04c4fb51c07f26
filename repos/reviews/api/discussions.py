"""The HF discussions API: list, details, create, comment, edit and hide comments, rename,
change status, merge (HF_PROTOCOL.md §7), plus ours: pin, lock, reviews, review requests,
inline threads, merge status, merge rules, watching.

Every route authorizes through the gate first (hidden == missing: a private repository's
discussions answer exactly like a missing repository's), then finds the discussion; the
services check what is specific to one object (a comment's author, a PR's author).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import request_principal, require_signed_in
from hub.exceptions import BadRequest, NotFound
from hub.http.client import client_ip
from hub.http.inputs import query_bool, query_int
from hub.http.urls import public_url
from repos.api.patterns import repo_from_api_request
from repos.gate import Action, can_admin, can_download
from repos.git import errors as git_errors
from repos.git.merge import analyze_merge
from repos.handles import git_repo_for_read, walk_limits
from repos.links import RepoLinks
from repos.models import Discussion, DiscussionEvent, Repository
from repos.reviews.api import serializers as shapes
from repos.reviews.selectors.discussions import discussion_page, discussion_with_events, pull_request_diff
from repos.reviews.selectors.merge_status import merge_rules_of, merge_status, pr_refs
from repos.reviews.services import discussions as services
from repos.reviews.services import pull_requests, reviews
from repos.reviews.services.notifications import is_watching, watch_set
from repos.reviews.services.reviews import merge_rules_update

MAX_TEXT = 65_536


def body_of(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The validated JSON body; no body at all (the client's `json=None`) is `{}`."""
    empty = request._request.META.get("CONTENT_LENGTH") in (None, "", "0")
    data = {} if empty else request.data
    if data is None or (hasattr(data, "keys") and not data):
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("Expected a JSON object")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def repo_for(request: Request, kwargs: dict[str, str], action: Action = "read", *, files: bool = False) -> Repository:
    """The repository of an `/api/{T}/{id}/...` route, authorized for `action` (and file bytes)."""
    return repo_from_api_request(request, plural=kwargs["plural"], namespace=kwargs["namespace"],
                                 name=kwargs["name"], action=action, files=files)


def _discussion(repo: Repository, num: str) -> Discussion:
    return services.discussion_by_num(repo=repo, num=num)


def _hidden_reader(request: Request, repo: Repository) -> Callable[[DiscussionEvent], bool]:
    """Who may read a hidden comment: its author and the repository's admins (asked once)."""
    user, token = request_principal(request)
    admin: list[bool] = []

    def allowed(event: DiscussionEvent) -> bool:
        if not event.hidden:
            return False
        if getattr(user, "pk", None) is not None and event.author_id == user.pk:
            return True
        if not admin:
            admin.append(can_admin(user, repo, token=token))
        return admin[0]
    return allowed


# --------------------------------------------------------------------------- list, create, details


class DiscussionListApi(APIView):
    """`GET /api/{T}/{id}/discussions?p=&type=&status=&author=&search=`; `POST` opens one."""

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=1000, trim_whitespace=True)
        description = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT,
                                            trim_whitespace=False)
        pullRequest = serializers.BooleanField(required=False, default=False)  # noqa: N815

    def get(self, request: Request, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs)
        kind = request.query_params.get("type") or None
        status = request.query_params.get("status") or None
        if kind not in (None, "all", "discussion", "pull_request"):
            raise BadRequest(f"Invalid type {kind!r}: all, discussion or pull_request")
        if status not in (None, "all", *Discussion.Status.values):
            raise BadRequest(f"Invalid status {status!r}: all, open, closed, merged or draft")
        page = discussion_page(repo=repo, page=query_int(request._request, "p", default=0, minimum=0, maximum=100_000),
                               kind=None if kind == "all" else kind, status=None if status == "all" else status,
                               author=request.query_params.get("author") or None,
                               search=request.query_params.get("search") or None)
        return Response({"discussions": [shapes.discussion_item(d, repo) for d in page.discussions],
                         "count": page.count, "start": page.start, "numClosedDiscussions": page.closed})

    def post(self, request: Request, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        created = services.discussion_create(repo=repo, author=user, title=data["title"],
                                             description=data.get("description") or "",
                                             pull_request=data["pullRequest"], token=token, ip=client_ip(request))
        return Response({"num": created.num, "pullRequest": created.is_pull_request,
                         "url": public_url(RepoLinks(repo).discussion(created.num))})


class DiscussionDetailApi(APIView):
    """`GET /api/{T}/{id}/discussions/{num}[?diff=1]`."""

    def get(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs)
        try:
            number = int(num)
        except ValueError:
            raise NotFound("Discussion not found") from None
        discussion = discussion_with_events(repo=repo, num=number)
        if discussion is None:
            raise NotFound("Discussion not found")
        diff = conflicts = behind = None
        if discussion.is_pull_request:
            conflicts, behind = _conflicts(repo, discussion)
            user, token = request_principal(request)
            # File contents of a gated repository stay with those granted access.
            if query_bool(request.query_params.get("diff")) and can_download(user, repo, token=token):
                diff = pull_request_diff(repo=repo, pr=discussion)
        return Response(shapes.discussion_details(discussion, repo, events=discussion.timeline,  # type: ignore[attr-defined]
                                                  show_hidden=_hidden_reader(request, repo), diff=diff,
                                                  conflicts=conflicts, behind=behind))


def _conflicts(repo: Repository, pr: Discussion) -> tuple[list[str] | bool, int | None]:
    """(filesWithConflicts, commits behind the target) of an open PR; a PR too large to merge
    through the hub has `true` (HF allows a boolean)."""
    if pr.status not in (Discussion.Status.OPEN, Discussion.Status.DRAFT):
        return [], None
    git = git_repo_for_read(repo)
    base, head = pr_refs(git, pr)
    if base is None or head is None:
        return [], None
    try:
        analysis = analyze_merge(git, base, head, limits=walk_limits())
    except git_errors.TreeTooLarge:
        return True, None
    return analysis.conflicts, analysis.behind


# --------------------------------------------------------------------------- comments


class DiscussionCommentApi(APIView):
    """`POST .../discussions/{num}/comment` `{"comment"}` -> `{"newMessage": event}`. Ours: with
    `path` and `line` (+ `side`) or `tensor` the comment starts an inline thread on a PR; with
    `threadId` it replies in one."""

    class InputSerializer(serializers.Serializer):
        comment = serializers.CharField(max_length=MAX_TEXT, trim_whitespace=False)
        path = serializers.CharField(required=False, max_length=1024)
        line = serializers.IntegerField(required=False, min_value=1)
        side = serializers.ChoiceField(choices=["new", "old"], required=False, default="new")
        tensor = serializers.CharField(required=False, max_length=1024)
        threadId = serializers.IntegerField(required=False, min_value=1)  # noqa: N815

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        discussion = _discussion(repo, num)
        if data.get("threadId"):
            thread = reviews.thread_by_id(pr=discussion, thread_id=data["threadId"])
            event = reviews.thread_reply(thread=thread, author=user, text=data["comment"], token=token)
        elif data.get("path"):
            event = reviews.inline_comment_create(pr=discussion, author=user, text=data["comment"], path=data["path"],
                                                  line=data.get("line"), side=data["side"],
                                                  tensor=data.get("tensor") or "", token=token)
        else:
            event = services.comment_create(discussion=discussion, author=user, text=data["comment"], token=token)
        return Response({"newMessage": shapes.event_item(event)})


class CommentEditApi(APIView):
    """`POST .../discussions/{num}/comment/{id}/edit` `{"content"}` -> `{"updatedComment"}`."""

    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(max_length=MAX_TEXT, trim_whitespace=False)

    def post(self, request: Request, num: str, comment_id: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, _token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        comment = services.comment_by_id(discussion=_discussion(repo, num), comment_id=comment_id)
        comment = services.comment_edit(comment=comment, editor=user, text=data["content"])
        return Response({"updatedComment": shapes.event_item(comment, show_hidden=True)})


class CommentHideApi(APIView):
    """`POST .../discussions/{num}/comment/{id}/hide` -> `{"updatedComment"}`."""

    def post(self, request: Request, num: str, comment_id: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        comment = services.comment_by_id(discussion=_discussion(repo, num), comment_id=comment_id)
        comment = services.comment_hide(comment=comment, user=user, token=token)
        return Response({"updatedComment": shapes.event_item(comment)})


# --------------------------------------------------------------------------- title, status, merge, pin, lock


class DiscussionTitleApi(APIView):
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=1000)

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        event = services.discussion_rename(discussion=_discussion(repo, num), user=user, title=data["title"],
                                           token=token)
        return Response({"newTitle": shapes.event_item(event)})


class DiscussionStatusApi(APIView):
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["open", "closed"])
        comment = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT)

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        event = services.discussion_status_change(discussion=_discussion(repo, num), user=user, status=data["status"],
                                                  comment=data.get("comment") or "", token=token)
        return Response({"newStatus": shapes.event_item(event)})


class PullRequestMergeApi(APIView):
    """`POST .../discussions/{num}/merge` (writers; 403 for others, as on the Hub), optional
    `{"comment"}`; ours: `"method": "auto" | "fast-forward" | "merge"`."""

    class InputSerializer(serializers.Serializer):
        comment = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT)
        method = serializers.ChoiceField(choices=list(pull_requests.METHODS), required=False, default="auto")

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "write")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        pr = pull_requests.pull_request_merge(repo=repo, pr=_discussion(repo, num), user=user, token=token,
                                              comment=data.get("comment") or "", method=data["method"],
                                              ip=client_ip(request))
        return Response({"status": pr.status, "mergeCommitId": pr.merge_commit})


class DiscussionPinApi(APIView):
    class InputSerializer(serializers.Serializer):
        pinned = serializers.BooleanField(default=True)

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "write")
        user, _token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        discussion = _discussion(repo, num)
        services.discussion_pin(discussion=discussion, user=user, pinned=data["pinned"])
        return Response({"pinned": discussion.pinned})


class DiscussionLockApi(APIView):
    class InputSerializer(serializers.Serializer):
        locked = serializers.BooleanField(default=True)

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "write")
        user, _token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        discussion = _discussion(repo, num)
        services.discussion_lock(discussion=discussion, user=user, locked=data["locked"])
        return Response({"locked": discussion.locked})


# --------------------------------------------------------------------------- reviews


class ReviewCreateApi(APIView):
    """`POST .../discussions/{num}/reviews` `{"state": approved|changes_requested|commented, "body"}`."""

    class InputSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=["approved", "changes_requested", "commented"])
        body = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        event = reviews.review_submit(pr=_discussion(repo, num), reviewer=user, state=data["state"],
                                      body=data.get("body") or "", token=token)
        return Response({"newReview": shapes.event_item(event)})


class ReviewRequestApi(APIView):
    """`POST .../discussions/{num}/review-requests` `{"reviewer": username}`."""

    class InputSerializer(serializers.Serializer):
        reviewer = serializers.CharField(max_length=150)

    def post(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        reviews.review_request(pr=_discussion(repo, num), user=user, reviewer_name=data["reviewer"], token=token)
        return Response({"reviewer": data["reviewer"]})


class ThreadResolveApi(APIView):
    """`POST .../discussions/{num}/threads/{id}/resolve` `{"resolved": true|false}`."""

    class InputSerializer(serializers.Serializer):
        resolved = serializers.BooleanField(default=True)

    def post(self, request: Request, num: str, thread_id: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "discuss")
        user, token = require_signed_in(request)
        data = body_of(request, self.InputSerializer)
        thread = reviews.thread_by_id(pr=_discussion(repo, num), thread_id=thread_id)
        reviews.thread_resolve(thread=thread, user=user, resolved=data["resolved"], token=token)
        return Response({"id": thread.pk, "resolved": thread.resolved})


class MergeStatusApi(APIView):
    """`GET .../discussions/{num}/merge-status`: the checks of the merge box."""

    def get(self, request: Request, num: str, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs)
        pr = _discussion(repo, num)
        if not pr.is_pull_request:
            raise BadRequest(f"Discussion #{pr.num} is not a pull request")
        return Response(shapes.merge_status_item(merge_status(repo=repo, pr=pr)))


# --------------------------------------------------------------------------- repository settings


class MergeRulesApi(APIView):
    """`GET|PUT /api/{T}/{id}/merge-rules` `{"requiredApprovals": n, "requiredChecks": [...]}` (admins)."""

    class InputSerializer(serializers.Serializer):
        requiredApprovals = serializers.IntegerField(min_value=0, max_value=20, default=0)  # noqa: N815
        requiredChecks = serializers.ListField(child=serializers.CharField(max_length=64), required=False,  # noqa: N815
                                               default=list, max_length=20)

    @staticmethod
    def _out(rules: Any) -> dict[str, Any]:
        return {"requiredApprovals": rules.required_approvals if rules else 0,
                "requiredChecks": list(rules.required_checks) if rules else []}

    def get(self, request: Request, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "admin")
        return Response(self._out(merge_rules_of(repo)))

    def put(self, request: Request, **kwargs: str) -> Response:
        repo = repo_for(request, kwargs, "admin")
        data = body_of(request, self.InputSerializer)
        rules = merge_rules_update(repo=repo, required_approvals=data["requiredApprovals"],
                                   required_checks=data["requiredChecks"])
        return Response(self._out(rules))


class WatchApi(APIView):
    """`GET|POST|DELETE /api/{T}/{id}/watch`: whether the caller watches the repository."""

    def get(self, request: Request, **kwargs: str) -> Response:
        user, _token = require_signed_in(request)
        repo = repo_for(request, kwargs)
        return Response({"watching": is_watching(user=user, repo=repo)})

    def post(self, request: Request, **kwargs: str) -> Response:
        user, _token = require_signed_in(request)
        repo = repo_for(request, kwargs)
        watch_set(user=user, repo=repo, watching=True)
        return Response({"watching": True})

    def delete(self, request: Request, **kwargs: str) -> Response:
        user, _token = require_signed_in(request)
        repo = repo_for(request, kwargs)
        watch_set(user=user, repo=repo, watching=False)
        return Response({"watching": False})
