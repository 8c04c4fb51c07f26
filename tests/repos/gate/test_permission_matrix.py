"""Every route x persona x repository kind gives the declared outcome.

The routes come from the URL configuration itself; `route_rules.RULES` declares what each one
needs, and a route without a rule fails `test_every_route_has_a_rule`. The expected outcome is
computed here, independently of `repos.gate`, from the personas' roles (see
`world.py`). "Hidden" means byte-identical (status, body, X-Error-* headers, content type) to
the answer for a repository that does not exist, for the same caller.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.repos.gate.route_rules import ADMIN_PREFIX, ADMIN_RULE, RULES, Rule
from tests.repos.gate.world import KINDS, ORG, PERSONAS, World, build_world, make_repo

pytestmark = pytest.mark.django_db

# The persona's level on acme's repositories: 1 read, 2 contribute, 3 write, 4 admin.
LEVEL = {"anonymous": 0, "stranger": 0, "reader": 1, "contributor": 2, "writer": 3, "admin": 4,
         "other_org": 0, "scoped_elsewhere": 0}
ORG_ROLE = {"contributor": 2, "writer": 3, "admin": 4}
DEAD = {"revoked", "expired"}
_CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value=|csrf[-_]token" content=)"[^"]*"')


def iter_routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[str]:
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from iter_routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def rule_for(route: str) -> Rule | None:
    if route.startswith(ADMIN_PREFIX):
        return ADMIN_RULE
    return RULES.get(route)


def test_every_route_has_a_rule() -> None:
    routes = list(iter_routes())
    missing = [r for r in routes if rule_for(r) is None]
    assert not missing, "routes without an access rule in tests/repos/gate/route_rules.py:\n" + "\n".join(missing)
    stale = sorted(set(RULES) - set(routes))
    assert not stale, "rules for routes that no longer exist:\n" + "\n".join(stale)


def needs_cas_token(rule: Rule) -> bool:
    """Xet CAS routes take CAS tokens only: whatever hub credentials come, 401."""
    return rule.needs == "cas"


def expected(rule: Rule, persona: str, kind: str) -> str:
    """allowed | hidden | unauth | forbidden | gated | login"""
    if rule.needs == "cas_url":
        return "forbidden"
    if persona in DEAD or needs_cas_token(rule):
        return "unauth"
    auth = persona != "anonymous"
    level = LEVEL[persona]
    full_token = persona != "scoped_elsewhere"
    readable = kind != "private" or level >= 1
    needs = "auth_full" if rule.needs == "create" else rule.needs
    if needs in ("public", "nothing"):  # a 404 without a repository to compare with reads as allowed
        return "allowed"
    if needs == "auth":
        return "allowed" if auth else "login"
    if needs == "staff":
        return "login"
    if needs == "session":
        return "forbidden" if auth else "login"  # every persona here comes with a token
    if needs == "signed":
        return "forbidden"  # a bad signature is refused whoever presents it
    if not auth:
        if needs in ("auth_full", "auth_read", "org_create", "org_member", "org_admin"):
            return "unauth"
    if needs == "auth_full":
        return "allowed" if full_token else "forbidden"
    if needs == "org_create":
        return "allowed" if full_token and ORG_ROLE.get(persona, 0) >= 3 else "forbidden"
    if needs == "org_member":
        return "allowed" if full_token and persona in ORG_ROLE else "forbidden"
    if needs == "org_admin":
        return "allowed" if full_token and ORG_ROLE.get(persona) == 4 else "forbidden"
    if not readable:
        return "hidden"
    if needs in ("read", "auth_read"):
        return "allowed"
    if needs == "discuss":
        if not auth:
            return "unauth"
        return "allowed" if full_token else "forbidden"
    if needs == "download":
        return "gated" if kind == "gated" and level < 3 else "allowed"
    if needs == "contribute_download":
        outcome = expected(replace(rule, needs="contribute"), persona, kind)
        # The HTML pages answer a refused download with a plain 403 page.
        return "forbidden" if outcome == "allowed" and kind == "gated" and level < 3 else outcome
    if needs == "contribute":
        if not auth:
            return "unauth"
        if level >= 3 or (full_token and (kind != "private" or level >= 2)):
            return "allowed"
        return "forbidden"
    need = {"write": 3, "settings": 4, "admin": 4}[needs]  # no persona's token stops at settings
    if level >= need:
        return "allowed"
    return "forbidden" if auth else "unauth"


def send(client: Client, sample: dict[str, Any], headers: dict[str, str]) -> Any:
    sample = dict(sample)
    method, path, data, content_type = (sample.pop(k) for k in ("method", "path", "data", "content_type"))
    if isinstance(data, dict | list):
        data = json.dumps(data)
    return client.generic(method, path, data or "", content_type=content_type, **sample, **headers)


def fingerprint(response: Any, name: str) -> tuple[Any, ...]:
    """What a caller can observe, with the requested name itself (echoed in `?next=` links
    and messages, known to the caller anyway) and per-render CSRF tokens blanked."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    body = _CSRF.sub(b"", body).replace(name.encode(), b"<name>")
    def header(key: str) -> str | None:
        value = response.get(key)
        return value.replace(name, "<name>") if value else value
    return (response.status_code, body, header("Content-Type"), header("X-Error-Code"),
            header("X-Error-Message"), header("WWW-Authenticate"), header("Location"))


def classify(response: Any, fp: tuple[Any, ...], missing_fp: tuple[Any, ...] | None) -> str:
    status = response.status_code
    if response.get("X-Error-Code") == "GatedRepo":
        return "gated"
    if status == 302 and "login" in response.get("Location", ""):
        # Anonymous browsers go to the login page first; hidden only if a missing repo does too.
        return "login" if fp != missing_fp else "login (same as missing)"
    if missing_fp is not None and fp == missing_fp and status in (401, 404):
        return "hidden"
    if status == 401:
        return "unauth"
    if status == 403:
        return "forbidden"
    if status >= 500 and status != 501:  # 501: a feature this server does not offer
        return f"error {status}"
    return "allowed"


def _matches(want: str, got: str, persona: str, response: Any) -> bool:
    if got == "login (same as missing)":
        got = "hidden" if want == "hidden" else "login"
    if want == got:
        if want == "gated":
            return response.status_code == (401 if persona == "anonymous" else 403)
        return True
    if want == "unauth" and got == "hidden":
        return response.status_code == 401  # a dead token is refused before any lookup
    # Browsers are sent to the login page where API clients get a 401.
    return {want, got} == {"login", "unauth"}


def run_matrix(world: World, kind: str) -> list[str]:
    client = Client()
    repo, sha = make_repo(world, kind, name=f"{kind}-repo")
    extra = {"org": ORG, "sha": sha, "fresh_name": lambda: f"new-{uuid.uuid4().hex[:8]}"}
    failures: list[str] = []
    seen: set[tuple[str, str]] = set()
    for route in iter_routes():
        rule = rule_for(route)
        assert rule is not None
        if not rule.repo and kind != "public":
            continue  # no repository in the URL: once is enough
        if (id(rule), "") in seen:
            continue
        seen.add((id(rule), ""))
        # git and git-lfs send the token as a Basic password; the API clients as Bearer. Both
        # must mean the same on the git routes.
        schemes = (False, True) if ".git/" in rule.build("x/y", "x/y", "models", extra)["path"] else (False,)
        for persona, basic in ((p, b) for p in PERSONAS for b in schemes):
            want = expected(rule, persona, kind)
            target = repo
            if rule.destructive and want == "allowed":
                target, _ = make_repo(world, kind)
            sample = rule.build(target.url_path, target.repo_id, target.api_plural, extra)
            headers = world.headers(persona, basic=basic)
            response = send(client, sample, headers)
            fp = fingerprint(response, target.name)
            missing_fp = None
            # Only these statuses can be "the answer of a missing repository".
            if rule.repo and response.status_code in (302, 401, 404):
                ghost = rule.build(f"{ORG}/does-not-exist", f"{ORG}/does-not-exist", target.api_plural, extra)
                missing_fp = fingerprint(send(client, ghost, headers), "does-not-exist")
            got = classify(response, fp, missing_fp)
            if want == "hidden" and got not in ("hidden", "login (same as missing)") and missing_fp is not None \
                    and fp[0] == missing_fp[0]:
                diff = [a for a, b in zip(fp, missing_fp, strict=True) if a != b]
                got = "not identical to missing: " + repr(diff)[:300]
            if not _matches(want, got, persona, response):
                failures.append(f"{kind:8} {persona:17} {'basic' if basic else 'bearer':6} {sample['method']:6} "
                                f"{sample['path']}: "
                                f"expected {want}, got {got} ({response.status_code})")
    return failures


@pytest.mark.parametrize("kind", KINDS)
def test_permission_matrix(kind: str) -> None:
    failures = run_matrix(build_world(), kind)
    assert not failures, f"{len(failures)} unexpected outcomes:\n" + "\n".join(failures)
