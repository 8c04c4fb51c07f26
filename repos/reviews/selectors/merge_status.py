"""Whether a pull request can be merged, and why not: the data of the merge box, of the merge
service's last check, and of `filesWithConflicts` in the API."""
from __future__ import annotations

from dataclasses import dataclass, field

from accounts.permissions import WRITE
from repos.gate import users_with_level
from repos.git import errors as git_errors
from repos.git.merge import MergeAnalysis, analyze_merge
from repos.git.repository import GitRepo
from repos.handles import git_repo_for_read, walk_limits
from repos.models import Discussion, DiscussionEvent, MergeRules, Repository
from repos.reviews.checks import CheckResult, MergeContext, merge_check_results

APPROVED = "approved"
CHANGES_REQUESTED = "changes_requested"
COMMENTED = "commented"
REVIEW_STATES = (APPROVED, CHANGES_REQUESTED, COMMENTED)


@dataclass
class ReviewSummary:
    """The latest approving / blocking review per reviewer; `approvers`/`blockers` are the
    writers among them (only their reviews count toward merge rules). `stale` are the writers
    whose latest review approved an older head of the pull request: commits were pushed since,
    so the approval is dismissed (it no longer counts) until they approve again."""

    latest: dict[str, str] = field(default_factory=dict)  # username -> approved | changes_requested
    approvers: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def review_summary(*, repo: Repository, pr: Discussion, head: str | None = None) -> ReviewSummary:
    """The reviews that count for merging `pr` whose ref is now at `head` (None: the ref is
    gone; approvals are then taken as they are). An approval counts for the commit it was
    given on (`review_submit` records it): approving a PR approves what it held then, not what
    was pushed to it afterwards. A request for changes keeps blocking across new commits
    until its author reviews again (as on GitHub)."""
    events = (DiscussionEvent.objects.filter(discussion=pr, kind=DiscussionEvent.Kind.REVIEW)
              .select_related("author").order_by("created_at", "id"))
    latest: dict[int, tuple[str, str, bool, str]] = {}
    for event in events:
        data = event.data or {}
        state = data.get("state")
        if event.author is None or event.author_id is None or state not in (APPROVED, CHANGES_REQUESTED):
            continue  # a plain "commented" review neither approves nor dismisses
        latest[event.author_id] = (event.author.username, str(state), event.author.is_superuser,
                                   str(data.get("commit") or ""))
    writers = users_with_level(repo, WRITE)
    summary = ReviewSummary(latest={name: state for name, state, _, _ in latest.values()})
    for user_id, (name, state, superuser, commit) in latest.items():
        if user_id == pr.author_id or not (user_id in writers or superuser):
            continue
        if state == APPROVED and head is not None and commit != head:
            summary.stale.append(name)
            continue
        (summary.approvers if state == APPROVED else summary.blockers).append(name)
    summary.approvers.sort()
    summary.blockers.sort()
    summary.stale.sort()
    return summary


@dataclass
class MergeStatus:
    base: str | None
    head: str | None
    analysis: MergeAnalysis | None
    checks: list[CheckResult]
    reviews: ReviewSummary
    too_large: bool = False

    @property
    def mergeable(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def behind(self) -> int:
        return self.analysis.behind if self.analysis else 0

    @property
    def conflicts(self) -> list[str]:
        return self.analysis.conflicts if self.analysis else []

    @property
    def failing(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


def merge_rules_of(repo: Repository) -> MergeRules | None:
    return MergeRules.objects.filter(repository=repo).first()


def pr_refs(git: GitRepo, pr: Discussion) -> tuple[str | None, str | None]:
    """(target branch head, PR head) shas; None for a ref that is gone."""
    def sha(ref: str) -> str | None:
        try:
            return git.resolve(ref)
        except git_errors.RevisionNotFound:
            return None
    return sha(f"refs/heads/{pr.target_branch}"), sha(pr.git_ref)


def merge_status(*, repo: Repository, pr: Discussion, git: GitRepo | None = None,
                 rules: MergeRules | None | bool = False) -> MergeStatus:
    """Analyze merging `pr` now. `git` defaults to the request's read handle (the merge
    service passes its locked write handle); `rules` may be passed when already loaded."""
    git = git or git_repo_for_read(repo)
    base, head = pr_refs(git, pr)
    analysis = None
    too_large = False
    if base is not None and head is not None and pr.status != Discussion.Status.MERGED:
        try:
            analysis = analyze_merge(git, base, head, limits=walk_limits())
        except git_errors.TreeTooLarge:
            too_large = True
    loaded = merge_rules_of(repo) if rules is False else rules
    reviews = review_summary(repo=repo, pr=pr, head=head)
    ctx = MergeContext(repo=repo, pr=pr, rules=loaded if isinstance(loaded, MergeRules) else None, base=base,
                       head=head, analysis=analysis, approvers=reviews.approvers, blockers=reviews.blockers,
                       stale_approvers=reviews.stale)
    checks = merge_check_results(ctx)
    if too_large:
        checks = [c for c in checks if c.key != "conflicts"]
        checks.insert(1, CheckResult("conflicts", "No conflicts with the target branch", "failed",
                                     "Too many files changed to merge through the hub."))
    return MergeStatus(base=base, head=head, analysis=analysis, checks=checks, reviews=reviews, too_large=too_large)
