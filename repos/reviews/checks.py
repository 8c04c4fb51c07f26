"""Merge checks: what must hold before a pull request may be merged, on every merge path.

Built in: the PR is open (not a draft, not closed or merged), it merges without conflicts,
and the repository's merge rules (`MergeRules`, off by default as on the Hub) are met: N
approvals from writers (authors cannot approve their own PR; a writer's latest "changes
requested" blocks while approvals are required), and every named check in
`required_checks` passes.

Named checks come from a registry other apps add to in their `AppConfig.ready()`:

    from repos.reviews.checks import register_merge_check
    register_merge_check("evaluation", "Evaluation passes", evaluation_check)

A check gets a `MergeContext` and returns a `CheckResult` ("passed" | "failed" | "pending").
A required check that no app provides fails with a message saying so: a rule must never pass
because the code enforcing it is missing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from repos.git.merge import MergeAnalysis
from repos.models import Discussion, MergeRules, Repository

State = Literal["passed", "failed", "pending"]


@dataclass(frozen=True)
class CheckResult:
    key: str
    label: str
    state: State
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.state == "passed"


@dataclass(frozen=True)
class MergeContext:
    """What a check may look at. `analysis` is None when the merge could not be analyzed
    (the target branch is gone); `approvers` and `blockers` are the writers whose latest
    review approves / requests changes; `stale_approvers` those whose approval was given on an
    older head of the PR (dismissed by the commits pushed since: not in `approvers`)."""

    repo: Repository
    pr: Discussion
    rules: MergeRules | None
    base: str | None
    head: str | None
    analysis: MergeAnalysis | None
    approvers: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    stale_approvers: list[str] = field(default_factory=list)


Check = Callable[[MergeContext], CheckResult]


@dataclass(frozen=True)
class _Registered:
    label: str
    check: Check


# Labels of checks the hub knows about even before an app provides them (settings page).
KNOWN_CHECKS: dict[str, str] = {"evaluation": "Evaluation of the pull request passes"}
_registry: dict[str, _Registered] = {}


def register_merge_check(key: str, label: str, check: Check) -> None:
    """Provide the named check `key` (idempotent; a later registration replaces the earlier)."""
    _registry[key] = _Registered(label, check)


def unregister_merge_check(key: str) -> None:
    _registry.pop(key, None)


def available_checks() -> dict[str, str]:
    """key -> label of every check a repository may require."""
    return {**KNOWN_CHECKS, **{key: r.label for key, r in _registry.items()}}


def _state_check(ctx: MergeContext) -> CheckResult:
    pr = ctx.pr
    label = "Pull request is open"
    if pr.status == Discussion.Status.OPEN:
        return CheckResult("open", label, "passed")
    if pr.status == Discussion.Status.DRAFT:
        return CheckResult("open", label, "failed", "It is a draft: mark it ready (open) first.")
    return CheckResult("open", label, "failed", f"It is {pr.status}.")


def _conflict_check(ctx: MergeContext) -> CheckResult:
    label = "No conflicts with the target branch"
    if ctx.analysis is None:
        return CheckResult("conflicts", label, "failed", f"The target branch {ctx.pr.target_branch} does not exist.")
    if ctx.analysis.conflicts:
        return CheckResult("conflicts", label, "failed", "Conflicting files: " + ", ".join(ctx.analysis.conflicts[:20]))
    return CheckResult("conflicts", label, "passed")


def _approval_check(ctx: MergeContext, required: int) -> CheckResult:
    label = f"{required} approval{'s' if required != 1 else ''} from writers"
    got = len(ctx.approvers)
    if ctx.blockers:
        return CheckResult("approvals", label, "failed", "Changes requested by " + ", ".join(ctx.blockers))
    if got >= required:
        return CheckResult("approvals", label, "passed", "Approved by " + ", ".join(ctx.approvers))
    detail = f"{got} of {required} approvals"
    if ctx.stale_approvers:
        detail += ("; dismissed because commits were pushed after them: approvals of "
                   + ", ".join(ctx.stale_approvers))
    return CheckResult("approvals", label, "pending", detail)


def merge_check_results(ctx: MergeContext) -> list[CheckResult]:
    """Every check that applies to this merge, built-in ones first."""
    results = [_state_check(ctx), _conflict_check(ctx)]
    rules = ctx.rules
    if rules is None:
        return results
    if rules.required_approvals:
        results.append(_approval_check(ctx, rules.required_approvals))
    for key in rules.required_checks or []:
        registered = _registry.get(str(key))
        label = KNOWN_CHECKS.get(str(key), str(key))
        if registered is None:
            results.append(CheckResult(str(key), label, "failed",
                                       f"This hub has no provider for the required check {key!r}."))
            continue
        try:
            results.append(registered.check(ctx))
        except Exception as exc:  # a broken provider blocks the merge, it never allows it
            results.append(CheckResult(str(key), registered.label, "failed", f"The check failed to run: {exc}"))
    return results
