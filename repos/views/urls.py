"""HTML routes, mounted last (after the API, git, resolve and admin routes).

Repository pages accept an optional `datasets/` or `spaces/` prefix, like every Hub URL.
Revisions inside paths arrive decoded (`refs%2Fpr%2F1` -> `refs/pr/1`): views split the
remainder with `repos.revisions.split_revision_path`.
"""
from django.urls import path, re_path

from accounts import urls as accounts_urls
from repos.models import RepoType
from repos.views import community, history, listing, orgs, profiles, repo_pages, write
from repos.views import settings as repo_settings
from repos.views.headers import html_page

REPO = r"^(?:(?P<prefix>datasets|spaces)/)?(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"
ORG = r"(?P<org>[\w.\-]+)"
USER = r"(?P<username>[\w.\-]+)"

urlpatterns = [
    path("", html_page(listing.home), name="home"),
    # account pages (log-in, sign-up, settings, tokens, password) from accounts/urls.py, with the
    # pages' security headers
    *[path(str(p.pattern), html_page(p.callback), name=p.name) for p in accounts_urls.urlpatterns],
    path("models", html_page(listing.repo_list), {"repo_type": RepoType.MODEL}, name="models"),
    path("datasets", html_page(listing.repo_list), {"repo_type": RepoType.DATASET}, name="datasets"),
    path("spaces", html_page(listing.repo_list), {"repo_type": RepoType.SPACE}, name="spaces"),
    path("new", html_page(write.new_repo), {"repo_type": RepoType.MODEL}, name="new-model"),
    path("new-dataset", html_page(write.new_repo), {"repo_type": RepoType.DATASET}, name="new-dataset"),
    # Organizations (HF's `/organizations/{org}/settings/members` form too); before the
    # repository routes, which would read `organizations/new` as a repository.
    path("organizations/new", html_page(orgs.org_new), name="org-new"),
    re_path(rf"^(?:organizations/)?{ORG}/settings/members$", html_page(orgs.org_members), name="org-members"),
    re_path(rf"^(?:organizations/)?{ORG}/settings/members/{USER}/role$", html_page(orgs.org_member_role)),
    re_path(rf"^(?:organizations/)?{ORG}/settings/members/{USER}/remove$", html_page(orgs.org_member_remove)),
    # Repository settings (admins).
    re_path(rf"{REPO}/settings$", html_page(repo_settings.repo_settings), name="repo-settings"),
    re_path(rf"{REPO}/settings/visibility$", html_page(repo_settings.visibility)),
    re_path(rf"{REPO}/settings/gating$", html_page(repo_settings.gating)),
    re_path(rf"{REPO}/settings/collaborators$", html_page(repo_settings.collaborator_add)),
    re_path(rf"{REPO}/settings/collaborators/{USER}/role$", html_page(repo_settings.collaborator_role)),
    re_path(rf"{REPO}/settings/collaborators/{USER}/remove$", html_page(repo_settings.collaborator_delete)),
    re_path(rf"{REPO}/settings/access-requests/{USER}$", html_page(repo_settings.access_request)),
    re_path(rf"{REPO}/settings/delete$", html_page(repo_settings.delete)),
    re_path(rf"{REPO}$", html_page(repo_pages.repo_home), name="repo"),
    re_path(rf"{REPO}/tree/(?P<remainder>.+)$", html_page(repo_pages.tree), name="repo-tree"),
    re_path(rf"{REPO}/blob/(?P<remainder>.+)$", html_page(repo_pages.blob), name="repo-blob"),
    re_path(rf"{REPO}/commits/(?P<remainder>.+)$", html_page(history.commits), name="repo-commits"),
    re_path(rf"{REPO}/commit/(?P<rev>[^/]+)$", html_page(history.commit), name="repo-commit"),
    re_path(rf"{REPO}/discussions$", html_page(community.discussions), name="repo-discussions"),
    re_path(rf"{REPO}/upload/(?P<remainder>.+)$", html_page(write.upload), name="repo-upload"),
    re_path(rf"{REPO}/edit/(?P<remainder>.+)$", html_page(write.edit_file), name="repo-edit"),
    re_path(rf"{REPO}/new-file/(?P<remainder>.+)$", html_page(write.new_file), name="repo-new-file"),
    # `/{name}`: a user's or an organization's page. Last: every one-segment route of the site
    # (models, datasets, new, login, join, ...) comes first, and those names are reserved.
    re_path(r"^(?P<namespace>[\w.\-]+)$", html_page(profiles.namespace_page), name="namespace"),
]
