"""The declared access rule of every route, for the permission matrix (test_permission_matrix).

Keys are the full regex of a route as `django.urls.get_resolver()` yields it (include
prefixes joined). A route missing here fails the matrix: adding a URL means deciding who may
call it. Each rule names what the route needs and how to build a sample request:

* `public`     anyone (an invalid token is still refused: 401)
* `nothing`    names no repository (an id without a namespace): RepoNotFound to anyone
* `auth`       any signed-in user (anonymous: 401 or a redirect to the login page)
* `auth_full`  the user themselves with a session or write token (fine-grained/read: 403)
* `create`     create a repository somewhere: a session, a write token, or a fine-grained token
               that covers a namespace with write access (no persona of the permission matrix
               has one: there it reads as `auth_full`)
* `session`    a browser session only (every token: 403; anonymous: the login page)
* `read`       read access to the repo (else the answer of a missing repo)
* `download`   read access, and on gated repos write access or an accepted request
* `contribute` push to own PR refs: writers, or anyone who may open a PR
* `contribute_download`  `contribute`, and on gated repos write access or an accepted request
               (pages that show or copy file bytes: edit, rename)
* `discuss`    take part in discussions: signed in, read access, a token that may act here
* `write`      contents: commits, branches, tags (readers without it: 403; anonymous: 401)
* `settings`   visibility and gating: repo admins, also through a fine-grained write token
* `admin`      destructive or privilege-changing: repo admins, and a fine-grained token only
               with admin access (test_token_scope_matrix)
* `auth_read`  signed in (401 first, like for a missing repo), then read access
* `org_create` create a repo in the fixture organization: org writers and admins
* `org_member`, `org_admin`  member / admin of the fixture organization
* `signed`     a signed URL minted by a batch response; credentials alone never suffice
* `cas`        a Xet CAS token from a xet-*-token endpoint; hub credentials alone: 401
* `cas_url`    a Xet fetch URL: its signature is the credential, any header is ignored (403)
* `staff`      Django admin: site staff only

Every fixture repository has pull request #1, opened by the admin persona (so "author or
writer" routes read as `write`).

Sample builders get (repo_path, api_id, plural, extra) where repo_path is `[datasets/]ns/name`,
api_id is `ns/name`, plural is `models|datasets` and extra is a dict with the fixture's names.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

T = r"(?P<plural>models|datasets|spaces)"
ID = r"(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"
API = "api/^" + T + "/" + ID
PREFIX = r"^(?:(?P<prefix>datasets|spaces)/)?"
GIT = PREFIX + r"(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+?)(?:\.git)?"
HTML = PREFIX + ID
ORG_HTML = r"^(?:organizations/)?(?P<org>[\w.\-]+)"
DISC = r"/discussions/(?P<num>[0-9]{1,9})"
HDISC = DISC
FORM = "application/x-www-form-urlencoded"
OID = "0" * 64

Builder = Callable[[str, str, str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    needs: str
    build: Builder
    repo: bool = True  # the sample URL names a fixture repo (hidden-vs-missing is compared)
    destructive: bool = False  # allowed personas run it on a throwaway repo
    notes: str = field(default="", compare=False)


def req(method: str, path: str, data: Any = None, content_type: str = "application/json",
        **extra: Any) -> dict[str, Any]:
    return {"method": method, "path": path, "data": data, "content_type": content_type, **extra}


def lfs_batch(path: str) -> dict[str, Any]:
    body = {"operation": "download", "transfers": ["basic"], "objects": [{"oid": OID, "size": 1}]}
    return req("POST", f"/{path}.git/info/lfs/objects/batch", body, "application/vnd.git-lfs+json")


RULES: dict[str, Rule] = {
    # --- API: ours and HF's, no repository in the URL
    # The published OpenAPI schema and its page (hub/http/openapi.py).
    ".well-known/openapi.json": Rule("public", lambda p, i, t, x: req("GET", "/.well-known/openapi.json"),
                                    repo=False),
    "api/schema": Rule("public", lambda p, i, t, x: req("GET", "/api/schema"), repo=False),
    "api/docs": Rule("public", lambda p, i, t, x: req("GET", "/api/docs"), repo=False),
    r"api/^agent-harnesses$": Rule("public", lambda p, i, t, x: req("GET", "/api/agent-harnesses"), repo=False),
    r"api/^whoami-v2$": Rule("auth", lambda p, i, t, x: req("GET", "/api/whoami-v2"), repo=False),
    r"api/^" + T + "$": Rule("public", lambda p, i, t, x: req("GET", f"/api/{t}"), repo=False),
    r"api/^users/(?P<username>[\w.\-]+)/likes$": Rule(
        "public", lambda p, i, t, x: req("GET", f"/api/users/{x['org']}/likes"), repo=False),
    API + "/likers$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/likers")),
    API + "/lfs-files$": Rule("write", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/lfs-files")),
    API + "/lfs-files/batch$": Rule("admin", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/lfs-files/batch", {"deletions": {"sha": [OID], "rewriteHistory": True}})),
    r"api/^settings/repositories$": Rule("auth", lambda p, i, t, x: req("GET", "/api/settings/repositories"),
                                         repo=False),
    r"api/^organizations/(?P<org>[\w.\-]+)/settings/repositories$": Rule(
        "org_member", lambda p, i, t, x: req("GET", f"/api/organizations/{x['org']}/settings/repositories"),
        repo=False),
    r"api/^organizations/(?P<org>[\w.\-]+)/overview$": Rule(
        "public", lambda p, i, t, x: req("GET", f"/api/organizations/{x['org']}/overview"), repo=False),
    r"api/^users/(?P<username>[\w.\-]+)/overview$": Rule(
        "public", lambda p, i, t, x: req("GET", f"/api/users/{x['org']}/overview"), repo=False),
    API + "/like$": Rule("auth_read", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/like")),
    # An id without a namespace names no repository: RepoNotFound to anyone.
    r"api/^" + T + r"/(?P<name>[\w.\-]+)(?:/revision/(?P<rev>.+))?$": Rule(
        "nothing", lambda p, i, t, x: req("GET", f"/api/{t}/gpt2"), repo=False),
    r"api/^validate-yaml$": Rule("public", lambda p, i, t, x: req(
        "POST", "/api/validate-yaml", {"content": "---\nlicense: mit\n---\n", "repoType": "model"}), repo=False),
    r"api/^repos/create$": Rule("org_create", lambda p, i, t, x: req(
        "POST", "/api/repos/create", {"name": x["fresh_name"](), "organization": x["org"],
                                      "type": t[:-1]}), repo=False),
    r"api/^repos/delete$": Rule("admin", lambda p, i, t, x: req(
        "DELETE", "/api/repos/delete", {"name": i.split("/")[1], "organization": i.split("/")[0],
                                        "type": t[:-1]}), destructive=True),
    r"api/^repos/move$": Rule("admin", lambda p, i, t, x: req(
        "POST", "/api/repos/move", {"fromRepo": i, "toRepo": f"{x['org']}/{x['fresh_name']()}",
                                    "type": t[:-1]}), destructive=True),
    r"api/^organizations$": Rule("public", lambda p, i, t, x: req("GET", "/api/organizations"), repo=False),
    r"api/^organizations/(?P<org>[\w.\-]+)/members$": Rule(
        "org_member", lambda p, i, t, x: req("GET", f"/api/organizations/{x['org']}/members"), repo=False),
    r"api/^organizations/(?P<org>[\w.\-]+)/members/(?P<username>[\w.\-]+)$": Rule(
        "org_admin", lambda p, i, t, x: req("DELETE", f"/api/organizations/{x['org']}/members/nobody"), repo=False),
    r"api/^organizations/(?P<org>[\w.\-]+)/audit$": Rule(
        "org_admin", lambda p, i, t, x: req("GET", f"/api/organizations/{x['org']}/audit"), repo=False),
    r"api/^tokens$": Rule("auth_full", lambda p, i, t, x: req("GET", "/api/tokens"), repo=False),
    r"api/^tokens/(?P<token_id>[0-9]+)$": Rule(
        "auth_full", lambda p, i, t, x: req("DELETE", "/api/tokens/999999999"), repo=False),
    r"^api/": Rule("public", lambda p, i, t, x: req("GET", "/api/no-such-route"), repo=False),
    # Xet CAS tokens: reading needs the files (gated repos too), writing a branch needs write.
    API + r"/xet-read-token/(?P<rev>.+)$": Rule(
        "download", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/xet-read-token/main")),
    API + r"/xet-write-token/(?P<rev>.+)$": Rule(
        "write", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/xet-write-token/main")),
    # --- API on one repository
    API + "$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}")),
    API + r"/revision/(?P<rev>.+)$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/revision/main")),
    API + r"/auth-check(?:/(?P<access>write))?$": Rule(
        "download", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/auth-check")),
    API + r"/tree/(?P<remainder>.+)$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/tree/main")),
    API + r"/paths-info/(?P<rev>.+)$": Rule(
        "read", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/paths-info/main", {"paths": ["config.json"]})),
    API + r"/refs$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/refs")),
    API + r"/commits/(?P<rev>.+)$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/commits/main")),
    API + r"/settings$": Rule("settings", lambda p, i, t, x: req("PUT", f"/api/{t}/{i}/settings", {})),
    API + r"/preupload/(?P<rev>.+)$": Rule(
        "write", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/preupload/main", {"files": []})),
    API + r"/commit/(?P<rev>.+)$": Rule(
        "write", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/commit/main", b"not ndjson\n",
                                        "application/x-ndjson")),
    API + r"/branch/(?P<rev>.+)$": Rule(
        "write", lambda p, i, t, x: req("DELETE", f"/api/{t}/{i}/branch/no-such-branch")),
    API + r"/tag/(?P<rev>.+)$": Rule("write", lambda p, i, t, x: req("DELETE", f"/api/{t}/{i}/tag/no-such-tag")),
    API + r"/super-squash/(?P<rev>.+)$": Rule(
        "write", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/super-squash/no-such-branch", {})),
    API + r"/collaborators$": Rule("admin", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/collaborators")),
    API + r"/collaborators/(?P<username>[\w.\-]+)$": Rule(
        "admin", lambda p, i, t, x: req("DELETE", f"/api/{t}/{i}/collaborators/nobody")),
    API + r"/ask-access$": Rule("auth_read", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/ask-access", {})),
    API + r"/user-access-request/(?P<status>pending|accepted|rejected)$": Rule(
        "write", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/user-access-request/pending")),
    API + r"/user-access-request/handle$": Rule(
        "write", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/user-access-request/handle",
                                        {"user": "nobody", "status": "accepted"})),
    API + r"/user-access-request/grant$": Rule(
        "write", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/user-access-request/grant", {"user": "nobody"})),
    API + r"/audit$": Rule("admin", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/audit")),
    # --- API: jobs (jobs app): visible to readers of their repository; a job id names no
    # repository, so a missing (or hidden) job is the same plain 404 to anyone (the sample
    # names no job; tests/jobs/test_api.py checks hidden == missing with real jobs)
    r"api/^jobs$": Rule("public", lambda p, i, t, x: req("GET", "/api/jobs"), repo=False),
    r"api/^jobs/(?P<job_id>[0-9]{1,18})$": Rule(
        "public", lambda p, i, t, x: req("GET", "/api/jobs/999999999"), repo=False),
    r"api/^jobs/(?P<job_id>[0-9]{1,18})/logs$": Rule(
        "public", lambda p, i, t, x: req("GET", "/api/jobs/999999999/logs"), repo=False),
    r"api/^jobs/(?P<job_id>[0-9]{1,18})/cancel$": Rule(
        "public", lambda p, i, t, x: req("POST", "/api/jobs/999999999/cancel"), repo=False),
    API + r"/jobs$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/jobs")),
    # --- API: personal-data reports of datasets (safety): counts to readers, changes to admins
    API + r"/personal-data$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/personal-data")),
    API + r"/personal-data/settings$": Rule("settings", lambda p, i, t, x: req(
        "PUT", f"/api/{t}/{i}/personal-data/settings", {"requireCleanReport": False})),
    API + r"/personal-data/redact$": Rule("settings", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/personal-data/redact", {"mode": "mask"})),
    API + r"/personal-data/redactions/(?P<redaction_id>[0-9]{1,18})$": Rule("settings", lambda p, i, t, x: req(
        "GET", f"/api/{t}/{i}/personal-data/redactions/1")),
    # --- API: discussions, reviews, merge rules, diffs (the reviews wing)
    API + r"/discussions$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/discussions")),
    API + DISC + "$": Rule("read", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/discussions/1?diff=1")),
    API + DISC + r"/comment$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/comment", {"comment": "matrix"})),
    API + DISC + r"/comment/(?P<comment_id>[0-9A-Fa-f]{1,32})/edit$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/comment/{'0' * 24}/edit", {"content": "x"})),
    API + DISC + r"/comment/(?P<comment_id>[0-9A-Fa-f]{1,32})/hide$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/comment/{'0' * 24}/hide")),
    # The discussion's author (admin) or writers.
    API + DISC + r"/title$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/title", {"title": "Matrix title"})),
    API + DISC + r"/status$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/status", {"status": "open"})),
    API + DISC + r"/merge$": Rule("write", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/discussions/1/merge")),
    API + DISC + r"/pin$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/pin", {"pinned": False})),
    API + DISC + r"/lock$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/lock", {"locked": False})),
    API + DISC + r"/reviews$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/reviews", {"state": "commented", "body": "matrix"})),
    API + DISC + r"/review-requests$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/review-requests", {"reviewer": "nobody"})),
    API + DISC + r"/threads/(?P<thread_id>[0-9]{1,18})/resolve$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/api/{t}/{i}/discussions/1/threads/999999/resolve", {"resolved": True})),
    API + DISC + r"/merge-status$": Rule("read", lambda p, i, t, x: req(
        "GET", f"/api/{t}/{i}/discussions/1/merge-status")),
    API + r"/merge-rules$": Rule("admin", lambda p, i, t, x: req("GET", f"/api/{t}/{i}/merge-rules")),
    API + r"/watch$": Rule("auth_read", lambda p, i, t, x: req("POST", f"/api/{t}/{i}/watch")),
    API + r"/compare/(?P<spec>.+)$": Rule("download", lambda p, i, t, x: req(
        "GET", f"/api/{t}/{i}/compare/main...refs%2Fpr%2F1")),
    API + r"/tensor-diff/(?P<spec>.+)$": Rule("download", lambda p, i, t, x: req(
        "GET", f"/api/{t}/{i}/tensor-diff/main...refs%2Fpr%2F1")),
    # --- git smart HTTP and LFS
    GIT + r"/info/refs$": Rule("download", lambda p, i, t, x: req("GET", f"/{p}.git/info/refs",
                                                                  QUERY_STRING="service=git-upload-pack")),
    GIT + r"/git-upload-pack$": Rule("download", lambda p, i, t, x: req(
        "POST", f"/{p}.git/git-upload-pack", b"0000", "application/x-git-upload-pack-request")),
    GIT + r"/git-receive-pack$": Rule("contribute", lambda p, i, t, x: req(
        "POST", f"/{p}.git/git-receive-pack", b"0000", "application/x-git-receive-pack-request")),
    GIT + r"/info/lfs/objects/batch$": Rule("download", lambda p, i, t, x: lfs_batch(p)),
    GIT + r"/info/lfs/objects/verify$": Rule("download", lambda p, i, t, x: req(
        "POST", f"/{p}.git/info/lfs/objects/verify", {"oid": OID, "size": 1}, "application/vnd.git-lfs+json")),
    GIT + r"/info/lfs/objects/(?P<oid>[0-9a-f]{64})$": Rule(
        "download", lambda p, i, t, x: req("GET", f"/{p}.git/info/lfs/objects/{OID}")),
    GIT + r"/info/lfs/locks/verify$": Rule("contribute", lambda p, i, t, x: req(
        "POST", f"/{p}.git/info/lfs/locks/verify", {}, "application/vnd.git-lfs+json")),
    GIT + r"/info/lfs/locks(?:/(?P<rest>.*))?$": Rule(
        "download", lambda p, i, t, x: req("GET", f"/{p}.git/info/lfs/locks")),
    r"^lfs-upload/(?P<key>[0-9a-f]{32})/(?P<oid>[0-9a-f]{64})$": Rule(
        "signed", lambda p, i, t, x: req("PUT", f"/lfs-upload/{'0' * 32}/{OID}", b"x", "application/octet-stream"),
        repo=False),
    # --- the Xet CAS: CAS tokens only (tests/repos/transport/test_xet_cas.py covers them)
    r"^xet/v1/xorb-grants/(?P<prefix>[\w.\-]{1,64})/(?P<xorb>[^/]+)$": Rule(
        "cas", lambda p, i, t, x: req("POST", f"/xet/v1/xorb-grants/default/{OID}", b"{}"), repo=False),
    r"^xet/v1/xorbs/(?P<prefix>[\w.\-]{1,64})/(?P<xorb>[^/]+)$": Rule(
        "cas", lambda p, i, t, x: req("POST", f"/xet/v1/xorbs/default/{OID}", b"x", "application/octet-stream"),
        repo=False),
    r"^xet/v1/chunks/(?P<prefix>[\w.\-]{1,64})/(?P<chunk>[^/]+)$": Rule(
        "cas", lambda p, i, t, x: req("GET", f"/xet/v1/chunks/default/{OID}"), repo=False),
    r"^xet/v2/shards$": Rule("cas", lambda p, i, t, x: req("POST", "/xet/v2/shards", b"x"), repo=False),
    r"^xet/v1/shards$": Rule("cas", lambda p, i, t, x: req("POST", "/xet/v1/shards", b"x"), repo=False),
    r"^xet/(?P<version>v1|v2)/reconstructions/(?P<file_hash>[^/]+)$": Rule(
        "cas", lambda p, i, t, x: req("GET", f"/xet/v1/reconstructions/{OID}"), repo=False),
    r"^xet/v1/fetch/(?P<xorb>[^/]+)$": Rule(
        "cas_url", lambda p, i, t, x: req("GET", f"/xet/v1/fetch/{OID}?r=0-9&exp=9999999999&u=1.1&sig={OID}"),
        repo=False),
    r"^xet/v1/telemetry$": Rule("cas", lambda p, i, t, x: req("POST", "/xet/v1/telemetry", {}), repo=False),
    # --- file bytes
    PREFIX + ID + r"/resolve/(?P<remainder>.+)$": Rule(
        "download", lambda p, i, t, x: req("GET", f"/{p}/resolve/main/config.json")),
    PREFIX + r"(?P<name>[\w.\-]+)/resolve/(?P<remainder>.+)$": Rule(
        "nothing", lambda p, i, t, x: req("GET", "/gpt2/resolve/main/config.json"), repo=False),
    # --- HTML
    "": Rule("public", lambda p, i, t, x: req("GET", "/"), repo=False),
    "login": Rule("public", lambda p, i, t, x: req("GET", "/login"), repo=False),
    "logout": Rule("public", lambda p, i, t, x: req("GET", "/logout"), repo=False),
    "models": Rule("public", lambda p, i, t, x: req("GET", "/models"), repo=False),
    "datasets": Rule("public", lambda p, i, t, x: req("GET", "/datasets"), repo=False),
    "spaces": Rule("public", lambda p, i, t, x: req("GET", "/spaces"), repo=False),
    "favicon.ico": Rule("public", lambda p, i, t, x: req("GET", "/favicon.ico"), repo=False),
    "search": Rule("public", lambda p, i, t, x: req("GET", "/search?search=a&license=mit"), repo=False),
    "new": Rule("create", lambda p, i, t, x: req("GET", "/new"), repo=False),
    "new-dataset": Rule("create", lambda p, i, t, x: req("GET", "/new-dataset"), repo=False),
    # --- HTML: accounts and organizations
    "join": Rule("public", lambda p, i, t, x: req("GET", "/join"), repo=False),
    "settings/profile": Rule("auth", lambda p, i, t, x: req("GET", "/settings/profile"), repo=False),
    "settings/password": Rule("auth", lambda p, i, t, x: req("GET", "/settings/password"), repo=False),
    "settings/tokens": Rule("auth_full", lambda p, i, t, x: req("GET", "/settings/tokens"), repo=False),
    "settings/tokens/<int:token_id>/revoke": Rule(
        "auth_full", lambda p, i, t, x: req("POST", "/settings/tokens/999999999/revoke", {}), repo=False),
    "password-reset": Rule("public", lambda p, i, t, x: req("GET", "/password-reset"), repo=False),
    "password-reset/sent": Rule("public", lambda p, i, t, x: req("GET", "/password-reset/sent"), repo=False),
    "password-reset/<uidb64>/<token>": Rule(
        "public", lambda p, i, t, x: req("GET", "/password-reset/MQ/bad-token"), repo=False),
    "password-reset/complete": Rule("public", lambda p, i, t, x: req("GET", "/password-reset/complete"), repo=False),
    "organizations/new": Rule("session", lambda p, i, t, x: req("GET", "/organizations/new"), repo=False),
    ORG_HTML + r"/settings/members$": Rule(
        "org_admin", lambda p, i, t, x: req("GET", f"/{x['org']}/settings/members"), repo=False),
    ORG_HTML + r"/settings/members/(?P<username>[\w.\-]+)/role$": Rule(
        "org_admin", lambda p, i, t, x: req("POST", f"/{x['org']}/settings/members/nobody/role",
                                            "role=read", FORM), repo=False),
    ORG_HTML + r"/settings/members/(?P<username>[\w.\-]+)/remove$": Rule(
        "org_admin", lambda p, i, t, x: req("POST", f"/{x['org']}/settings/members/nobody/remove", "", FORM),
        repo=False),
    # User and organization pages list only what the caller may see (test_listings).
    r"^(?P<namespace>[\w.\-]+)$": Rule("public", lambda p, i, t, x: req("GET", f"/{x['org']}"), repo=False),
    # --- HTML: repository settings (admins; `settings` also for fine-grained write tokens)
    HTML + r"/settings$": Rule("settings", lambda p, i, t, x: req("GET", f"/{p}/settings")),
    HTML + r"/settings/visibility$": Rule("settings", lambda p, i, t, x: req("POST", f"/{p}/settings/visibility",
                                                                             "", FORM)),
    # Turns gating off: on a throwaway repository (the gated fixture must stay gated for the
    # routes after it).
    HTML + r"/settings/gating$": Rule("settings", lambda p, i, t, x: req("POST", f"/{p}/settings/gating", "",
                                                                         FORM), destructive=True),
    HTML + r"/settings/collaborators$": Rule(
        "admin", lambda p, i, t, x: req("POST", f"/{p}/settings/collaborators", "user=nobody&role=read", FORM)),
    HTML + r"/settings/collaborators/(?P<username>[\w.\-]+)/role$": Rule(
        "admin", lambda p, i, t, x: req("POST", f"/{p}/settings/collaborators/nobody/role", "role=read", FORM)),
    HTML + r"/settings/collaborators/(?P<username>[\w.\-]+)/remove$": Rule(
        "admin", lambda p, i, t, x: req("POST", f"/{p}/settings/collaborators/nobody/remove", "", FORM)),
    # The API lets writers decide too (as the Hub does); the settings page is for admins.
    HTML + r"/settings/access-requests/(?P<username>[\w.\-]+)$": Rule(
        "settings", lambda p, i, t, x: req("POST", f"/{p}/settings/access-requests/nobody", "status=accepted", FORM)),
    HTML + r"/settings/delete$": Rule("admin", lambda p, i, t, x: req(
        "POST", f"/{p}/settings/delete", f"confirm={i}", FORM), destructive=True),
    # --- HTML: repository pages
    HTML + "$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}")),
    HTML + r"/personal-data$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/personal-data")),
    HTML + r"/personal-data/redact$": Rule("settings", lambda p, i, t, x: req(
        "POST", f"/{p}/personal-data/redact", "mode=mask", FORM)),
    HTML + r"/personal-data/settings$": Rule("settings", lambda p, i, t, x: req(
        "POST", f"/{p}/personal-data/settings", "", FORM)),
    HTML + r"/tree/(?P<remainder>.+)$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/tree/main")),
    # Gated: the page shows that the file is restricted, not its content (checked elsewhere).
    HTML + r"/blob/(?P<remainder>.+)$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/blob/main/config.json")),
    HTML + r"/commits/(?P<remainder>.+)$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/commits/main")),
    HTML + r"/commit/(?P<rev>[^/]+)$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/commit/{x['sha']}")),
    HTML + r"/discussions$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/discussions")),
    HTML + r"/discussions/new$": Rule("discuss", lambda p, i, t, x: req("GET", f"/{p}/discussions/new")),
    HTML + HDISC + "$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/discussions/1")),
    HTML + HDISC + r"/files$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/discussions/1/files")),
    HTML + HDISC + r"/comment$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/comment", "comment=matrix", FORM)),
    HTML + HDISC + r"/status$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/status", "status=open", FORM)),
    HTML + HDISC + r"/title$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/title", "title=Matrix+title", FORM)),
    HTML + HDISC + r"/review$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/review", "state=commented", FORM)),
    HTML + HDISC + r"/resolve$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/resolve", "thread=999999", FORM)),
    HTML + HDISC + r"/request-review$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/request-review", "reviewer=nobody", FORM)),
    HTML + HDISC + r"/edit$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/edit", f"comment_id={'0' * 24}&comment=x", FORM)),
    HTML + HDISC + r"/hide$": Rule("discuss", lambda p, i, t, x: req(
        "POST", f"/{p}/discussions/1/hide", f"comment_id={'0' * 24}", FORM)),
    HTML + HDISC + r"/merge$": Rule("write", lambda p, i, t, x: req("POST", f"/{p}/discussions/1/merge", "", FORM)),
    HTML + HDISC + r"/pin$": Rule("write", lambda p, i, t, x: req("POST", f"/{p}/discussions/1/pin", "pinned=0",
                                                                   FORM)),
    HTML + HDISC + r"/lock$": Rule("write", lambda p, i, t, x: req("POST", f"/{p}/discussions/1/lock", "locked=0",
                                                                    FORM)),
    HTML + r"/compare/(?P<spec>.+)$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/compare/main...refs%2Fpr%2F1")),
    HTML + r"/watch$": Rule("auth_read", lambda p, i, t, x: req("POST", f"/{p}/watch", "watching=1", FORM)),
    HTML + r"/like$": Rule("auth_read", lambda p, i, t, x: req("POST", f"/{p}/like", "liked=1", FORM)),
    # --- job pages (jobs app): a repository's jobs to its readers; a job id names no repository
    HTML + r"/jobs$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/jobs")),
    HTML + r"/jobs/finetune$": Rule("write", lambda p, i, t, x: req("POST", f"/{p}/jobs/finetune", "epochs=1", FORM)),
    r"^jobs/(?P<job_id>[0-9]{1,18})$": Rule("public", lambda p, i, t, x: req("GET", "/jobs/999999999"), repo=False),
    r"^jobs/(?P<job_id>[0-9]{1,18})/loss\.svg$": Rule(
        "public", lambda p, i, t, x: req("GET", "/jobs/999999999/loss.svg"), repo=False),
    HTML + r"/security$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/security")),
    HTML + r"/settings/security$": Rule("settings", lambda p, i, t, x: req(
        "POST", f"/{p}/settings/security", "block_unsafe_files=", FORM)),
    HTML + r"/settings/merge-rules$": Rule("admin", lambda p, i, t, x: req(
        "POST", f"/{p}/settings/merge-rules", "required_approvals=0", FORM)),
    "notifications": Rule("auth", lambda p, i, t, x: req("GET", "/notifications"), repo=False),
    "notifications/read": Rule("auth", lambda p, i, t, x: req("POST", "/notifications/read", "", FORM), repo=False),
    # File pages: writers commit or open a pull request, those who may only propose changes get
    # the pull request; pages that show or copy file bytes also need them (gated repositories).
    HTML + r"/upload/(?P<remainder>.+)$": Rule("contribute", lambda p, i, t, x: req("GET", f"/{p}/upload/main")),
    HTML + r"/edit/(?P<remainder>.+)$": Rule("contribute_download", lambda p, i, t, x: req(
        "GET", f"/{p}/edit/main/config.json")),
    HTML + r"/new-file/(?P<remainder>.+)$": Rule("contribute", lambda p, i, t, x: req("GET", f"/{p}/new-file/main")),
    HTML + r"/delete/(?P<remainder>.+)$": Rule("contribute", lambda p, i, t, x: req(
        "GET", f"/{p}/delete/main/config.json")),
    HTML + r"/rename/(?P<remainder>.+)$": Rule("contribute_download", lambda p, i, t, x: req(
        "GET", f"/{p}/rename/main/config.json")),
    # Branches and tags: the list for readers, changes for writers (as the API's branch/tag routes).
    HTML + r"/refs$": Rule("read", lambda p, i, t, x: req("GET", f"/{p}/refs")),
    HTML + r"/refs/new$": Rule("write", lambda p, i, t, x: req(
        "POST", f"/{p}/refs/new", "branch-kind=branch&branch-name=matrix-branch", FORM)),
    HTML + r"/refs/delete$": Rule("write", lambda p, i, t, x: req(
        "GET", f"/{p}/refs/delete", QUERY_STRING="kind=branch&name=no-such-branch")),
    HTML + r"/settings/move$": Rule("admin", lambda p, i, t, x: req(
        "POST", f"/{p}/settings/move", f"namespace={x['org']}&name={x['fresh_name']()}&confirm={i}", FORM),
        destructive=True),
}

# Django's admin site: one rule for all of its routes.
ADMIN_PREFIX = "admin/"
ADMIN_RULE = Rule("staff", lambda p, i, t, x: req("GET", "/admin/"), repo=False)
