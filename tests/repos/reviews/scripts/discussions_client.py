"""The community methods of the real huggingface_hub client, whichever version runs it (0.36 or
2.x; stdlib + huggingface_hub only). Run as `python discussions_client.py CONFIG.json` with
HF_ENDPOINT and HF_TOKEN (alice, the repository owner) in the environment; CONFIG holds `owner`,
`bob_token` (a stranger: author of PRs, never a writer), `suffix`. Prints one
`COMPAT-RESULT: {...}` line with the values and the error classes seen.
"""
from __future__ import annotations

import json
import sys
import traceback
import warnings

from huggingface_hub import CommitOperationAdd, HfApi, errors

RESULT_PREFIX = "COMPAT-RESULT: "
out: dict = {}
failures: dict = {}


def step(name, func):
    try:
        return func()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        failures[name] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)[-2500:]}"
        return None


def raised(name, func):
    try:
        func()
    except Exception as exc:  # noqa: BLE001
        bases = [b for b in ("RepositoryNotFoundError", "RevisionNotFoundError", "HfHubHTTPError")
                 if isinstance(exc, getattr(errors, b, ()) or ())]
        out.setdefault("raised", {})[name] = {"class": type(exc).__name__, "is": bases,
                                              "status": getattr(getattr(exc, "response", None), "status_code", None)}
    else:
        out.setdefault("raised", {})[name] = {"class": None, "is": [], "status": None}


def event_summary(e):
    return {"type": e.type, "author": e.author, **{k: getattr(e, k) for k in
            ("content", "edited", "hidden", "new_status", "summary", "oid", "old_title", "new_title")
            if hasattr(e, k)}}


def main() -> None:
    config = json.load(open(sys.argv[1]))
    import huggingface_hub

    out["client_version"] = huggingface_hub.__version__
    api, bob = HfApi(), HfApi(token=config["bob_token"])
    repo = f"{config['owner']}/disc-{config['suffix']}"
    secret = f"{config['owner']}/disc-private-{config['suffix']}"

    def setup():
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=b"# card\n", path_in_repo="README.md", repo_id=repo)
        api.create_repo(secret, private=True)
        api.create_discussion(secret, title="Private talk")
    step("setup", setup)

    def create():
        d = bob.create_discussion(repo, title="Test Discussion", description="Hello @" + config["owner"])
        again = bob.get_discussion_details(repo, d.num)
        out["discussion"] = {"num": d.num, "is_pr": d.is_pull_request, "status": d.status, "author": d.author,
                             "events": [event_summary(e) for e in d.events], "same_on_refetch": again == d,
                             "url_tail": d.url.rsplit("/", 3)[-3:], "git_reference": d.git_reference}
        pr = bob.create_pull_request(repo, title="Test Pull Request")
        out["draft_pr"] = {"num": pr.num, "status": pr.status, "ref": pr.git_reference,
                           "target": pr.target_branch, "conflicts": pr.conflicting_files,
                           "merge_commit": pr.merge_commit_oid,
                           "ref_exists": bob.repo_info(repo, revision=pr.git_reference).sha is not None}
        commit = bob.create_commit(repo, [CommitOperationAdd("proposal.txt", b"from a PR\n")],
                                   commit_message="Propose a file", create_pr=True)
        out["commit_pr"] = {"url_tail": commit.pr_url.rsplit("/", 2)[-2:], "revision": commit.pr_revision}
        bob.upload_file(path_or_fileobj=b"more\n", path_in_repo="more.txt", repo_id=repo, revision=pr.git_reference,
                        commit_message="Add more")
        # An LFS file from the PR's author (not a writer): the LFS batch names the PR ref.
        bob.upload_file(path_or_fileobj=bytes(range(256)) * 4400, path_in_repo="weights.bin", repo_id=repo,
                        revision=pr.git_reference, commit_message="Add weights")
        out["pr_lfs"] = bob.get_paths_info(repo, ["weights.bin"], revision=pr.git_reference)[0].lfs is not None
    step("create", create)

    def lists():
        def nums(**kw):
            return [d.num for d in bob.get_repo_discussions(repo, **kw)]
        out["lists"] = {
            "all": nums(), "pull_request": nums(discussion_type="pull_request"),
            "discussion": nums(discussion_type="discussion"), "open": nums(discussion_status="open"),
            "closed": nums(discussion_status="closed"), "by_bob": nums(author="compat-bob"),
            "by_owner": nums(author=config["owner"]),
        }
    step("lists", lists)

    def details():
        d = bob.get_discussion_details(repo, 2)
        out["pr_details"] = {"types": [e.type for e in d.events], "target": d.target_branch,
                             "conflicts": d.conflicting_files, "merge_commit": d.merge_commit_oid,
                             "diff_has_file": "more.txt" in (d.diff or ""),
                             "commit": [event_summary(e) for e in d.events if e.type == "commit"]}
    step("details", details)

    def comments():
        c = api.comment_discussion(repo, 1, "A **reply**")
        raised("edit_someone_elses_comment", lambda: bob.edit_discussion_comment(repo, 1, c.id, "x"))
        edited = api.edit_discussion_comment(repo, 1, c.id, "An edited reply")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hidden = api.hide_discussion_comment(repo, 1, c.id)
        renamed = bob.rename_discussion(repo, 1, "New title")
        closed = bob.change_discussion_status(repo, 1, "closed", comment="Closing")
        reopened = bob.change_discussion_status(repo, 1, "open")
        out["comments"] = {"comment": event_summary(c), "edited": event_summary(edited),
                           "hidden": event_summary(hidden), "renamed": event_summary(renamed),
                           "closed": event_summary(closed), "reopened": event_summary(reopened),
                           "title": bob.get_discussion_details(repo, 1).title}
    step("comments", comments)

    raised("merge_by_non_writer", lambda: bob.merge_pull_request(repo, 2))
    raised("private_repo_discussions", lambda: list(bob.get_repo_discussions(secret)))
    raised("private_repo_details", lambda: bob.get_discussion_details(secret, 1))
    raised("missing_discussion", lambda: bob.get_discussion_details(repo, 99))
    raised("missing_comment", lambda: bob.edit_discussion_comment(repo, 1, "0" * 24, "x"))

    def merge():
        bob.change_discussion_status(repo, 2, "open")
        api.merge_pull_request(repo, 2, comment="Thanks!")
        d = api.get_discussion_details(repo, 2)
        out["merged"] = {"status": d.status, "merge_commit": d.merge_commit_oid,
                         "main_sha": api.repo_info(repo).sha,
                         "files": sorted(api.list_repo_files(repo)),
                         "pr_ref_kept": any(r.ref == "refs/pr/2" for r in
                                            api.list_repo_refs(repo, include_pull_requests=True).pull_requests),
                         "last_event": event_summary(d.events[-1])}
    step("merge", merge)
    print(RESULT_PREFIX + json.dumps({"out": out, "errors": failures}, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
