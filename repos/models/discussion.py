"""Discussions and pull requests, their timeline, reviews, merge rules and notifications.

A pull request is a discussion with `is_pull_request` whose git ref is `refs/pr/{num}`;
discussions and PRs share one per-repository counter (HF_PROTOCOL.md §7). Git is the source of
truth for what a PR contains (the ref); these rows hold the conversation around it.

Everything that happens in a discussion is one `DiscussionEvent` row with a `kind` and a JSON
`data` payload (HF's `events[]`): comments (whose text, edits and hiding live on the row so a
whole timeline is one query), status and title changes, commits pushed to the PR ref (written
by the event-door subscriber), reviews, review requests, and later job results. New kinds need
no migration.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Discussion(models.Model):
    """A discussion thread or pull request of one repository, numbered per repository."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        MERGED = "merged"
        DRAFT = "draft"

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="discussions")
    num = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="discussions")
    is_pull_request = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # Short branch name the PR targets (e.g. "main"); empty for plain discussions.
    target_branch = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    pinned = models.BooleanField(default=False)
    # Locked: only writers may comment (a heated thread cooled down by a maintainer).
    locked = models.BooleanField(default=False)
    # Set when the PR is merged: the commit the target branch moved to (HF `mergeCommitId`).
    merge_commit = models.CharField(max_length=40, blank=True)
    # The target branch's head just before the merge: a merged PR's changes stay
    # `merge_base(merged_base, head)..head` once its commits are part of the branch.
    merged_base = models.CharField(max_length=40, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    # Comments counted on write, so lists need no aggregate (HF `numComments`).
    num_comments = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "num"], name="uniq_discussion_num"),
        ]
        ordering = ["-num"]

    def __str__(self) -> str:
        return f"{self.repository_id}#{self.num}"

    @property
    def git_ref(self) -> str:
        """`refs/pr/{num}` for pull requests."""
        return f"refs/pr/{self.num}"

    @property
    def is_writable(self) -> bool:
        """Whether commits may still land on the PR ref (draft or open)."""
        return self.status in (self.Status.OPEN, self.Status.DRAFT)


class ReviewThread(models.Model):
    """Inline comments anchored to one place of a PR's changes: a line of a file's text diff
    (`path`, `line`, `side`) or a tensor of a weight diff (`path` of the checkpoint, `tensor`).
    Resolvable as a whole; its comments are `DiscussionEvent`s pointing here."""

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="threads")
    path = models.CharField(max_length=1024)
    line = models.PositiveIntegerField(null=True, blank=True)
    side = models.CharField(max_length=3, blank=True)  # "new" | "old" for lines
    tensor = models.CharField(max_length=1024, blank=True)
    # The PR head the anchor was written against (a later push may move the line).
    commit = models.CharField(max_length=40, blank=True)
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def anchor(self) -> dict[str, object]:
        if self.tensor:
            return {"path": self.path, "tensor": self.tensor, "commit": self.commit}
        return {"path": self.path, "line": self.line, "side": self.side or "new", "commit": self.commit}


class DiscussionEvent(models.Model):
    """One entry of a discussion's timeline (see the module docstring). `public_id` is the
    24-hex id the HF API uses (the client lower-cases ids before putting them in URLs)."""

    class Kind(models.TextChoices):
        COMMENT = "comment"
        STATUS = "status-change"
        TITLE = "title-change"
        COMMIT = "commit"
        REVIEW = "review"
        REVIEW_REQUEST = "review-request"
        PIN = "pinning-change"
        LOCK = "locking-change"

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)
    # Comments (and review bodies): the current Markdown, and who last changed it.
    body = models.TextField(blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    num_edits = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    thread = models.ForeignKey(ReviewThread, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["discussion", "kind"])]

    @property
    def public_id(self) -> str:
        return f"{self.pk:024x}"


class CommentEdit(models.Model):
    """A former version of a comment, kept when it is edited (HF `history`)."""

    event = models.ForeignKey(DiscussionEvent, on_delete=models.CASCADE, related_name="edits")
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class ReviewRequest(models.Model):
    """Someone was asked to review a pull request."""

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="review_requests")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["discussion", "reviewer"], name="uniq_review_request")]


class MergeRules(models.Model):
    """Per-repository merge rules; without a row nothing is required (as on the Hub).

    `required_checks` names merge checks of the registry `repos.reviews.checks` (e.g.
    "evaluation", fed by the jobs app) that must pass before a merge.
    """

    repository = models.OneToOneField("repos.Repository", on_delete=models.CASCADE, related_name="merge_rules")
    required_approvals = models.PositiveSmallIntegerField(default=0)
    required_checks = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)


class Watch(models.Model):
    """A user's explicit choice to watch (or, `watching=False`, to stop watching) a repository.
    Writers watch their repositories by default: only their opt-out needs a row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches")
    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="watches")
    watching = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "repository"], name="uniq_watch")]


class Notification(models.Model):
    """An in-app notification (also mailed) about something that happened in a discussion."""

    class Kind(models.TextChoices):
        MENTION = "mention"
        COMMENT = "comment"
        NEW = "new"
        REVIEW_REQUEST = "review_request"
        REVIEW = "review"
        STATUS = "status"
        MERGE = "merge"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(DiscussionEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]


class TensorDiff(models.Model):
    """The cached tensor-level diff of one pair of checkpoints, keyed by the pair of content ids
    (`old_key`, `new_key`: the LFS sha256 of a single file, a digest of index + shards for a
    sharded checkpoint). `result` is `TensorDiffResult.to_dict()` and only ever complete.

    The repository, commits and path say where to find the bytes again (the worker recomputes
    from them); any repository holding the same pair may reuse the result.
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        INVALID = "invalid"  # a checkpoint is malformed or hostile: permanent, with `error`
        FAILED = "failed"  # storage or worker trouble: retried on the next view

    old_key = models.CharField(max_length=64)
    new_key = models.CharField(max_length=64)
    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="+")
    old_commit = models.CharField(max_length=40)
    new_commit = models.CharField(max_length=40)
    old_path = models.CharField(max_length=1024)
    new_path = models.CharField(max_length=1024)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    bytes_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["old_key", "new_key"], name="uniq_tensor_diff_pair")]
