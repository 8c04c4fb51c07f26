"""HTML routes of repositories, mounted last (after the API, git, resolve, admin and account
routes: `{org}/settings/members` would otherwise read as a repository).

Repository pages accept an optional `datasets/` or `spaces/` prefix, like every Hub URL.
Revisions inside paths arrive decoded (`refs%2Fpr%2F1` -> `refs/pr/1`): views split the
remainder with `repos.revisions.split_revision_path`.
"""
from django.urls import include, path, re_path

from repos.models import RepoType
from repos.views import files, history, likes, listing, profiles, refs, repo_pages, write
from repos.views import settings as repo_settings

REPO = r"^(?:(?P<prefix>datasets|spaces)/)?(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"
USER = r"(?P<username>[\w.\-]+)"

urlpatterns = [
    path("", listing.home, name="home"),
    path("favicon.ico", listing.favicon),
    path("models", listing.repo_list, {"repo_type": RepoType.MODEL}, name="models"),
    path("datasets", listing.repo_list, {"repo_type": RepoType.DATASET}, name="datasets"),
    path("spaces", listing.repo_list, {"repo_type": RepoType.SPACE}, name="spaces"),
    path("search", listing.search, name="search"),
    path("new", write.new_repo, {"repo_type": RepoType.MODEL}, name="new-model"),
    path("new-dataset", write.new_repo, {"repo_type": RepoType.DATASET}, name="new-dataset"),
    # Discussions, pull requests, compares, watching, notifications (the reviews wing).
    path("", include("repos.reviews.views.urls")),
    re_path(rf"{REPO}/like$", likes.like, name="repo-like"),
    # Repository settings (admins).
    re_path(rf"{REPO}/settings$", repo_settings.repo_settings, name="repo-settings"),
    re_path(rf"{REPO}/settings/visibility$", repo_settings.visibility),
    re_path(rf"{REPO}/settings/gating$", repo_settings.gating),
    re_path(rf"{REPO}/settings/collaborators$", repo_settings.collaborator_add),
    re_path(rf"{REPO}/settings/collaborators/{USER}/role$", repo_settings.collaborator_role),
    re_path(rf"{REPO}/settings/collaborators/{USER}/remove$", repo_settings.collaborator_delete),
    re_path(rf"{REPO}/settings/access-requests/{USER}$", repo_settings.access_request),
    re_path(rf"{REPO}/settings/merge-rules$", repo_settings.merge_rules),
    re_path(rf"{REPO}/settings/move$", repo_settings.move),
    re_path(rf"{REPO}/settings/delete$", repo_settings.delete),
    re_path(rf"{REPO}$", repo_pages.repo_home, name="repo"),
    re_path(rf"{REPO}/tree/(?P<remainder>.+)$", repo_pages.tree, name="repo-tree"),
    re_path(rf"{REPO}/blob/(?P<remainder>.+)$", repo_pages.blob, name="repo-blob"),
    re_path(rf"{REPO}/commits/(?P<remainder>.+)$", history.commits, name="repo-commits"),
    re_path(rf"{REPO}/commit/(?P<rev>[^/]+)$", history.commit, name="repo-commit"),
    re_path(rf"{REPO}/upload/(?P<remainder>.+)$", write.upload, name="repo-upload"),
    re_path(rf"{REPO}/edit/(?P<remainder>.+)$", write.edit_file, name="repo-edit"),
    re_path(rf"{REPO}/new-file/(?P<remainder>.+)$", write.new_file, name="repo-new-file"),
    re_path(rf"{REPO}/delete/(?P<remainder>.+)$", files.delete_path, name="repo-delete-path"),
    re_path(rf"{REPO}/rename/(?P<remainder>.+)$", files.rename_path, name="repo-rename-path"),
    # Branches and tags (names travel in the query or the form: they may hold slashes).
    re_path(rf"{REPO}/refs$", refs.refs, name="repo-refs"),
    re_path(rf"{REPO}/refs/new$", refs.ref_create),
    re_path(rf"{REPO}/refs/delete$", refs.ref_delete),
    # `/{name}`: a user's or an organization's page. Last: every one-segment route of the site
    # (models, datasets, new, login, join, ...) comes first, and those names are reserved.
    re_path(r"^(?P<namespace>[\w.\-]+)$", profiles.namespace_page, name="namespace"),
]
