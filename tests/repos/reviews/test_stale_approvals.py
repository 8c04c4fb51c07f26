"""Approvals are dismissed by new commits: an approval counts for the head of the pull request
it was given on. Commits pushed to the PR afterwards (commit API, git push, the upload page)
make it stale - it no longer counts toward the merge rules, the merge box says why, the API's
merge status lists it - until the reviewer approves again. A request for changes keeps
blocking across new commits."""
from __future__ import annotations

import pytest

from hub.exceptions import Conflict
from repos.handles import git_repo
from repos.models import MergeRules
from repos.reviews.selectors.merge_status import merge_status
from repos.reviews.services.pull_requests import pull_request_merge
from repos.reviews.services.reviews import review_submit
from tests.factories import CollaboratorFactory, UserFactory, bearer, commit, commit_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(repo, alice, bob):
    """alice's repository requiring one approval from writers; bob (a writer) opened PR #1."""
    commit(repo, files={"train.py": b"x = 1\n"})
    CollaboratorFactory(repo=repo, user=bob, role="write")
    MergeRules.objects.create(repository=repo, required_approvals=1)
    result = commit_service(repo, user=bob, files={"train.py": b"x = 2\n"}, summary="Two", create_pr=True)
    assert result.pull_request is not None
    return result.pull_request


def _approvals(repo, pr):
    status = merge_status(repo=repo, pr=pr)
    return next(c for c in status.checks if c.key == "approvals"), status


def test_new_commits_dismiss_an_approval_until_the_reviewer_approves_again(repo, alice, bob, opened):
    pr = opened
    pr.status = "open"
    pr.save(update_fields=["status"])
    review_submit(pr=pr, reviewer=alice, state="approved")
    check, status = _approvals(repo, pr)
    assert check.state == "passed" and status.reviews.approvers == ["alice"] and status.reviews.stale == []

    # bob pushes one more commit to his PR: alice approved what it held before, not this.
    commit_service(repo, user=bob, files={"train.py": b"x = 3  # sneaky\n"}, revision=pr.git_ref, summary="Three")
    check, status = _approvals(repo, pr)
    assert check.state == "pending" and not status.mergeable
    assert status.reviews.approvers == [] and status.reviews.stale == ["alice"]
    assert "dismissed" in check.detail and "alice" in check.detail
    head = git_repo(repo).resolve("main")
    with pytest.raises(Conflict):
        pull_request_merge(repo=repo, pr=pr, user=alice)
    assert git_repo(repo).resolve("main") == head

    # She looks again and approves the new head: it counts, the merge goes through.
    review_submit(pr=pr, reviewer=alice, state="approved")
    check, status = _approvals(repo, pr)
    assert check.state == "passed" and status.reviews.stale == []
    pull_request_merge(repo=repo, pr=pr, user=alice)
    pr.refresh_from_db()
    assert pr.status == "merged"


def test_a_request_for_changes_keeps_blocking_after_new_commits(repo, alice, bob, opened):
    pr = opened
    review_submit(pr=pr, reviewer=alice, state="changes_requested")
    commit_service(repo, user=bob, files={"train.py": b"x = 4\n"}, revision=pr.git_ref, summary="Fix")
    check, status = _approvals(repo, pr)
    assert check.state == "failed" and status.reviews.blockers == ["alice"]


def test_stale_approvals_in_the_api_and_on_the_page(client, repo, alice, bob, opened):
    pr = opened
    carol = UserFactory(username="carol")
    CollaboratorFactory(repo=repo, user=carol, role="write")
    review_submit(pr=pr, reviewer=alice, state="approved")
    commit_service(repo, user=bob, files={"train.py": b"x = 5\n"}, revision=pr.git_ref, summary="Five")
    review_submit(pr=pr, reviewer=carol, state="approved")  # on the new head
    r = client.get(f"/api/models/{repo.repo_id}/discussions/1/merge-status", **bearer(alice))
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["approvals"] == ["carol"] and body["staleApprovals"] == ["alice"]
    client.force_login(alice)
    page = client.get(f"/{repo.repo_id}/discussions/1").content.decode()
    assert 'data-reviewer="alice"' in page and "approval dismissed (new commits)" in page
