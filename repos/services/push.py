"""A git push, seen from the hub: policy before the refs move, the index after.

`PushSession.handle` answers the hooks of one `git receive-pack` (through
`repos.git.hooks.HookServer`):

* pre-receive: take the repository write lock (the one API commits take, so a push and a
  commit never interleave), check that every ref is still where the pusher saw it, then run
  `repos.policy.push.check_push` on the quarantined objects. Refusal: the objects are
  dropped by git, no ref moves, the pusher reads our message as `remote:` lines.
* git then updates the refs itself, compare-and-swap under its ref lockfiles (the protocol
  `repos.git.commit.update_ref` uses too), atomically for `git push --atomic`.
* post-receive: re-index the repository in the database and announce the moved refs through
  the event door (`repos.events`); the lock is released.

The lock is held from pre-receive to post-receive (or to the end of the session, when git
fails between the two). All of it runs in the thread serving the push request.
"""
from __future__ import annotations

import logging
from contextlib import ExitStack

from django.db import transaction

from accounts.models import AccessToken
from accounts.permissions import Principal
from repos.events import refs_updated
from repos.git.errors import GitError, RepoLocked
from repos.git.hooks import HookReply, HookRequest, RefUpdate
from repos.git.quarantine import QuarantinedPush, quarantine_env
from repos.handles import git_repo
from repos.models import Repository
from repos.policy.push import RULE, check_push, format_rejections
from repos.services.index import repo_index_read, repo_index_write
from repos.services.locking import repo_write_lock

logger = logging.getLogger(__name__)

BUSY_MESSAGE = (f"{RULE}\nYour push was rejected: another change to this repository is in progress. "
                f"Please retry in a moment.\n{RULE}\n")
MOVED_MESSAGE = (f"{RULE}\nYour push was rejected: {{ref}} was updated since you fetched it "
                 f"(it is now at {{current}}).\nFetch, merge or rebase, and push again.\n{RULE}\n")
INTERNAL_MESSAGE = f"{RULE}\nYour push could not be checked because of a server error; nothing was changed.\n{RULE}\n"


def push_index(*, repo: Repository, updates: list[RefUpdate] | None, actor: Principal | None = None,
               ip: str | None = None) -> None:
    """Refresh the database index after refs moved (git is the source of truth) and announce
    `updates` through the event door (None: index only)."""
    repo.refresh_from_db(fields=["default_branch"])
    snapshot = repo_index_read(repo=repo, git=git_repo(repo))  # git walked before the transaction
    with transaction.atomic():
        repo_index_write(repo=repo, snapshot=snapshot)
        if updates:
            refs_updated(repo=repo, changes=[(u.ref, u.old, u.new) for u in updates], actor=actor, origin="git",
                         ip=ip)


class PushSession:
    """One receive-pack run for `user` on `repo`. Close it when the run ends, whatever happened."""

    def __init__(self, *, repo: Repository, user: Principal, token: AccessToken | None, ip: str | None = None) -> None:
        self.repo = repo
        self.user = user
        self.token = token
        self.ip = ip
        self.accepted: list[RefUpdate] = []
        self.indexed = False
        self._lock = ExitStack()

    def handle(self, request: HookRequest) -> HookReply:
        try:
            if request.hook == "pre-receive":
                return self._pre_receive(request)
            return self._post_receive(request)
        except Exception:
            logger.exception("%s hook failed for %s", request.hook, self.repo)
            self._release()
            return HookReply(False, INTERNAL_MESSAGE)

    def _pre_receive(self, request: HookRequest) -> HookReply:
        git = git_repo(self.repo)
        try:
            self._lock.enter_context(repo_write_lock(git))
        except RepoLocked:
            return HookReply(False, BUSY_MESSAGE)
        try:
            push = QuarantinedPush(git.path, quarantine_env(git.path, request.env))
        except GitError:
            logger.exception("push to %s without a usable quarantine", self.repo)
            self._release()
            return HookReply(False, INTERNAL_MESSAGE)
        # Under the lock nobody else moves refs, so a stale `old` is reported clearly here
        # instead of as git's terse "failed to update ref".
        for update in request.updates:
            current = push.current_ref(update.ref)
            if current != update.old:
                self._release()
                return HookReply(False, MOVED_MESSAGE.format(ref=update.ref, current=current or "nothing"))
        rejections = check_push(repo=self.repo, user=self.user, token=self.token, push=push,
                                updates=request.updates)
        if rejections:
            self._release()
            return HookReply(False, format_rejections(rejections))
        self.accepted = list(request.updates)
        return HookReply(True)

    def _post_receive(self, request: HookRequest) -> HookReply:
        try:
            push_index(repo=self.repo, updates=request.updates, actor=self.user, ip=self.ip)
            self.indexed = True
        finally:
            self._release()
        return HookReply(True)

    def _release(self) -> None:
        self._lock.close()
        self._lock = ExitStack()

    def close(self) -> None:
        """End of the receive-pack run. If refs may have moved without a post-receive (git
        killed in between), re-index anyway (it only reads what git holds) and announce the
        accepted updates that did land."""
        try:
            if self.accepted and not self.indexed:
                git = git_repo(self.repo)
                landed = [u for u in self.accepted if git.refs(u.ref).get(u.ref) == u.new]
                push_index(repo=self.repo, updates=landed, actor=self.user, ip=self.ip)
                self.indexed = True
        except Exception:
            logger.exception("re-indexing %s after an interrupted push failed", self.repo)
        finally:
            self._release()
