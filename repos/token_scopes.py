"""Repositories as scopes of fine-grained tokens: what `accounts` asks through
`accounts.services.tokens.RepositoryScopes` (registered in `ReposConfig.ready`)."""
from __future__ import annotations

from accounts.permissions import Principal, is_signed_in
from accounts.selectors import user_memberships
from repos.gate import get_repo_or_404, repos_visible_to
from repos.models import Repository, RepoType
from repos.models.repository import URL_PREFIX

MAX_REPO_CHOICES = 300


class RepositoryScopeProvider:
    kinds = tuple(RepoType.values)

    def resolve(self, user: Principal, kind: str, namespace: str, name: str) -> Repository:
        return get_repo_or_404(user, repo_type=kind, namespace=namespace, name=name, follow_redirects=False)

    def choices(self, user: Principal) -> list[tuple[str, str]]:
        """The repositories under the user's own or their organizations' names that they can see."""
        if not is_signed_in(user):
            return []
        namespaces = [user.username, *(m.organization.name for m in user_memberships(user))]
        repos = (repos_visible_to(user).filter(namespace__in=namespaces)
                 .order_by("namespace", "name", "repo_type")
                 .only("repo_type", "namespace", "name")[:MAX_REPO_CHOICES])
        return [(f"{r.repo_type}:{r.namespace}/{r.name}", f"{URL_PREFIX[RepoType(r.repo_type)]}{r.namespace}/{r.name}")
                for r in repos]
