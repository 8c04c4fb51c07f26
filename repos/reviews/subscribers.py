"""The reviews wing listens to the event door (never polls git):

* a pull request ref moved (`refs/pr/N`, by the commit API, `create_pr`, a git push, the UI):
  one "commit" event per new commit on the PR's timeline (at most MAX_COMMIT_EVENTS per move);
* a branch moved by anything but the hub's own merge (which records its merge itself): open
  PRs targeting it whose head just became part of it (a writer pushed the PR head, or a merge
  made elsewhere) are marked merged, with their timeline event and notifications.

Runs after the write committed, in the writer's request: bounded work, a few queries.
"""
from __future__ import annotations

import logging

import pygit2
from django.db import transaction
from django.utils import timezone

from repos.events import RefsUpdated
from repos.git import errors as git_errors
from repos.handles import git_repo
from repos.models import Discussion, DiscussionEvent, Notification
from repos.reviews.services.discussions import event_add
from repos.reviews.services.notifications import audience, notify
from repos.selectors.pull_requests import PR_REF_RE

logger = logging.getLogger(__name__)

MAX_COMMIT_EVENTS = 100
MAX_PRS_CHECKED = 200


def reviews_on_refs_updated(event: RefsUpdated) -> None:
    for change in event.changes:
        if change.new is None:
            continue
        if PR_REF_RE.fullmatch(change.ref):
            _commits_pushed(event, change.ref, change.old, change.new)
        elif change.ref.startswith("refs/heads/") and event.origin != "merge" and change.old is not None:
            _merged_elsewhere(event, change.ref[len("refs/heads/"):], change.old, change.new)


def _commits_pushed(event: RefsUpdated, ref: str, old: str | None, new: str) -> None:
    match = PR_REF_RE.fullmatch(ref)
    assert match is not None
    pr = Discussion.objects.filter(repository=event.repo, num=int(match.group(1)), is_pull_request=True).first()
    if pr is None:
        return
    git = git_repo(event.repo)
    raw = git.raw
    try:
        walker = raw.walk(raw[new].id, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
        if old is not None:
            walker.hide(raw[old].id)
        else:
            # A new PR: what it adds on top of its target branch.
            try:
                walker.hide(raw[git.resolve(f"refs/heads/{pr.target_branch}")].id)
            except git_errors.RevisionNotFound:
                pass
        commits = []
        for commit in walker:
            commits.append(commit)
            if len(commits) > MAX_COMMIT_EVENTS:
                break
    except (KeyError, ValueError, pygit2.GitError):
        logger.warning("cannot walk %s of %s (%s..%s)", ref, event.repo, old, new)
        return
    now = timezone.now()
    with transaction.atomic():
        DiscussionEvent.objects.bulk_create([
            DiscussionEvent(discussion=pr, kind=DiscussionEvent.Kind.COMMIT, author=event.actor, created_at=now,
                            data={"subject": (c.message or "").split("\n", 1)[0][:500], "oid": str(c.id)})
            for c in commits[-MAX_COMMIT_EVENTS:]
        ])


def _merged_elsewhere(event: RefsUpdated, branch: str, old: str, new: str) -> None:
    prs = list(Discussion.objects.select_related("repository")
               .filter(repository=event.repo, is_pull_request=True, target_branch=branch,
                       status__in=[Discussion.Status.OPEN, Discussion.Status.DRAFT])
               .order_by("-num")[:MAX_PRS_CHECKED])
    if not prs:
        return
    git = git_repo(event.repo)
    heads = git.refs("refs/pr/")
    for pr in prs:
        head = heads.get(pr.git_ref)
        if head is None or head == old:
            continue
        try:
            # Its commits were not in the branch before and are now.
            if git.is_ancestor(head, old) or not git.is_ancestor(head, new):
                continue
        except git_errors.GitError:
            continue
        with transaction.atomic():
            still_open = Discussion.objects.filter(pk=pr.pk,
                                                   status__in=[Discussion.Status.OPEN, Discussion.Status.DRAFT])
            updated = still_open.update(status=Discussion.Status.MERGED, merge_commit=new, merged_base=old,
                                        merged_at=timezone.now(), merged_by=event.actor)
            if not updated:
                continue
            pr.status = Discussion.Status.MERGED
            entry = event_add(discussion=pr, kind=DiscussionEvent.Kind.STATUS, author=event.actor,
                              data={"status": "merged", "mergeCommitId": new})
            notify(discussion=pr, event=entry, actor=event.actor, targets=audience(pr, Notification.Kind.MERGE))
