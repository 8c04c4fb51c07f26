"""Token scopes mean what they say (issue 9, item 3): every route x token of a repository admin.

One user, `olga`, admin of organization `acme` and so of its repositories, calls every route of
the URL configuration (`route_rules.RULES`, as the permission matrix does) with each of her
tokens:

    fg_write      fine-grained, `write` on the repository (HF: contents and settings)
    fg_admin      fine-grained, `admin` on the repository
    classic       a classic write token
    read          a read token
    fg_org_write  fine-grained, `write` on the organization acme
    fg_org_admin  fine-grained, `admin` on the organization acme

Content writes (`write`, `contribute`) and settings writes (`settings`) succeed with every
token but the read token; destructive and privilege-changing routes (`admin`, `org_admin`)
only with a classic token or an admin scope that covers them. The expected outcome is written
here from the rule's `needs` alone; a route whose `needs` this table does not know fails
`test_every_route_is_classified_for_tokens`, so a new route cannot slip through unclassified.
"""
from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.models import AccessToken, Membership, Organization
from accounts.services.tokens import ScopeGrant, token_create
from accounts.services.users import user_create
from repos.models import Repository
from tests.repos.gate.route_rules import RULES, Rule, req
from tests.repos.gate.test_permission_matrix import iter_routes, rule_for, send
from tests.repos.gate.world import KINDS, ORG, PASSWORD, World, make_repo

pytestmark = pytest.mark.django_db

TOKENS = ("fg_write", "fg_admin", "classic", "read", "fg_org_write", "fg_org_admin")
REPO_SCOPED = ("fg_write", "fg_admin")

# What each token lets olga do, in the gate's order (read < write < settings < admin): on
# acme's repositories, on acme itself (members, audit log) and for creating repositories there.
ON_REPO = {"fg_write": "settings", "fg_admin": "admin", "classic": "admin", "read": "read",
           "fg_org_write": "settings", "fg_org_admin": "admin"}
ON_ORG = {"fg_write": "none", "fg_admin": "none", "classic": "admin", "read": "read",
          "fg_org_write": "settings", "fg_org_admin": "admin"}
ORDER = ("none", "read", "write", "settings", "admin")

# Each rule's `needs` -> what it asks of the token (None: decided without the token's scopes).
REPO_NEEDS = {"read": "read", "auth_read": "read", "download": "read", "contribute": "write", "write": "write",
              "contribute_download": "write",
              "discuss": "write",  # a credential that may act (write-capable) on a repository it reads
              "settings": "settings", "admin": "admin"}
# `create`: olga can create in acme and in her own namespace; none of her tokens covers only
# the latter, so it reads as creating in acme.
ORG_NEEDS = {"org_member": "read", "org_create": "write", "create": "write", "org_admin": "admin"}
FIXED = {"public": "allowed", "nothing": "refused (RepoNotFound)", "auth": "allowed",
         "staff": "login", "session": "forbidden", "signed": "forbidden",
         # Xet CAS routes take CAS tokens only (a hub token is refused: 401); fetch URLs their signature.
         "cas": "unauth", "cas_url": "forbidden"}
CLASSIFIED = set(REPO_NEEDS) | set(ORG_NEEDS) | set(FIXED) | {"auth_full"}

# Requests that the route's one sample does not show: the same route, another rule.
VARIANTS: list[tuple[str, Rule]] = [
    # Rewriting the default branch's history is an admin action (other branches: `write`).
    (r"api/^(?P<plural>models|datasets|spaces)/(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)/super-squash/(?P<rev>.+)$",
     Rule("admin", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/super-squash/main", {"message": "squash"}),
          destructive=True)),
    # Making the repository private, for real (the route's sample changes nothing).
    (r"api/^(?P<plural>models|datasets|spaces)/(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)/settings$",
     Rule("settings", lambda p, i, t, x: req("PUT", f"/api/{t}/{i}/settings", {"private": True}),
          destructive=True)),
    # Granting a collaborator (the route's sample removes a user who is not one).
    (r"api/^(?P<plural>models|datasets|spaces)/(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)/collaborators$",
     Rule("admin", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/collaborators", {"user": "nobody",
                                                                                    "role": "admin"}))),
    # Adding an organization member.
    (r"api/^organizations/(?P<org>[\w.\-]+)/members$",
     Rule("org_admin", lambda p, i, t, x: req("POST", f"/api/organizations/{x['org']}/members",
                                              {"user": "nobody", "role": "admin"}), repo=False)),
]


def at_least(have: str, need: str) -> bool:
    return ORDER.index(have) >= ORDER.index(need)


def expected(rule: Rule, token: str) -> str:
    """allowed | forbidden | login, for olga (acme admin) with `token`."""
    needs = rule.needs
    if needs in FIXED:
        return FIXED[needs]
    if needs == "auth_full":  # her own tokens: a browser session or a classic write token
        return "allowed" if token == "classic" else "forbidden"
    if needs in ORG_NEEDS:
        return "allowed" if at_least(ON_ORG[token], ORG_NEEDS[needs]) else "forbidden"
    if needs in REPO_NEEDS:
        return "allowed" if at_least(ON_REPO[token], REPO_NEEDS[needs]) else "forbidden"
    return f"unclassified needs {needs!r}"


def outcome(response: Any) -> str:
    status = response.status_code
    if response.get("X-Error-Code") in ("RepoNotFound", "GatedRepo"):
        return f"refused ({response['X-Error-Code']})"  # olga sees and downloads every fixture repo
    if status == 302 and "login" in response.get("Location", ""):
        return "login"
    if status == 401:
        return "unauth"
    if status == 403:
        return "forbidden"
    if status >= 500 and status != 501:
        return f"error {status}"
    return "allowed"  # 2xx, redirects, and 400/404/409 about the sample's own content


class Keys:
    """olga's tokens; repository-scoped ones are made for each repository they are used on."""

    def __init__(self, world: World, org: Organization) -> None:
        self.user = world.users["admin"]
        self.fixed = {
            "classic": self._make("classic", AccessToken.Role.WRITE),
            "read": self._make("read", AccessToken.Role.READ),
            "fg_org_write": self._make("fg", AccessToken.Role.FINE_GRAINED, ScopeGrant("write", organization=org)),
            "fg_org_admin": self._make("fg", AccessToken.Role.FINE_GRAINED, ScopeGrant("admin", organization=org)),
        }
        self.per_repo: dict[tuple[int, str], str] = {}

    def _make(self, name: str, role: str, *scopes: ScopeGrant) -> str:
        return token_create(user=self.user, name=name, role=role, scopes=scopes)[1]

    def key(self, token: str, repo: Repository) -> str:
        if token not in REPO_SCOPED:
            return self.fixed[token]
        if (repo.pk, token) not in self.per_repo:
            access = token.removeprefix("fg_")
            self.per_repo[repo.pk, token] = self._make("fg", AccessToken.Role.FINE_GRAINED,
                                                       ScopeGrant(access, repository=repo))
        return self.per_repo[repo.pk, token]


def build() -> tuple[World, Keys]:
    world = World()
    olga = user_create(username="olga", password=PASSWORD, email="olga@example.com")
    user_create(username="nobody", password=PASSWORD, email="nobody@example.com")
    world.users["admin"] = olga
    world.org = Organization.objects.create(name=ORG)
    Membership.objects.create(organization=world.org, user=olga, role=Membership.Role.ADMIN)
    return world, Keys(world, world.org)


def headers(key: str, basic: bool) -> dict[str, str]:
    if basic:
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"git-user:{key}".encode()).decode()}
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def samples() -> list[tuple[str, Rule]]:
    """(label, rule) for every route of the site (Django's admin once), then the variants."""
    seen: set[int] = set()
    out = []
    for route in iter_routes():
        rule = rule_for(route)
        assert rule is not None, f"no rule for {route}"
        if id(rule) not in seen:
            seen.add(id(rule))
            out.append((route, rule))
    return out + VARIANTS


def run_matrix(kind: str) -> list[str]:
    world, keys = build()
    client = Client()
    repo, sha = make_repo(world, kind, name=f"{kind}-repo")
    extra = {"org": ORG, "sha": sha, "fresh_name": lambda: f"new-{uuid.uuid4().hex[:8]}"}
    failures = []
    for _route, rule in samples():
        if not rule.repo and kind != "public":
            continue  # no repository in the URL: once is enough
        git = ".git/" in rule.build("x/y", "x/y", "models", extra)["path"]
        for token in TOKENS:
            for basic in ((False, True) if git else (False,)):
                want = expected(rule, token)
                # A destructive sample always gets a repository of its own.
                target = make_repo(world, kind)[0] if rule.destructive else repo
                sample = rule.build(target.url_path, target.repo_id, target.api_plural, extra)
                response = send(client, sample, headers(keys.key(token, target), basic))
                got = outcome(response)
                if got != want:
                    failures.append(f"{kind:7} {token:12} {'basic' if basic else 'bearer':6} {sample['method']:6} "
                                    f"{sample['path']} ({rule.needs}): expected {want}, got {got} "
                                    f"({response.status_code} {response.get('X-Error-Message', '')[:120]})")
    return failures


def test_every_route_is_classified_for_tokens() -> None:
    unclassified = [f"{route} needs {rule.needs!r}" for route, rule in samples() if rule.needs not in CLASSIFIED]
    assert not unclassified, "routes whose rule this matrix cannot judge:\n" + "\n".join(unclassified)
    unknown = [route for route, _rule in VARIANTS if route not in RULES]
    assert not unknown, "variants of routes that no longer exist:\n" + "\n".join(unknown)


@pytest.mark.parametrize("kind", KINDS)
def test_token_scope_matrix(kind: str) -> None:
    failures = run_matrix(kind)
    assert not failures, f"{len(failures)} unexpected outcomes:\n" + "\n".join(failures)
