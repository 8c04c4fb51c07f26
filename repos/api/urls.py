"""Repository API routes (HF-compatible and ours), mounted under /api/ by `hub/urls.py`.

Route lists live beside the views that serve them: `routes_read` (info, lists, tree, refs,
commits, whoami), `routes_write` (repo CRUD, preupload, commit, branches, tags), the reviews
wing's `repos.reviews.api.routes` (discussions, reviews, merge rules, compare, tensor diffs). Revisions
are the last segment where possible (`.+` captures `refs/pr/1`); tree takes a `rev[/path]`
remainder split by `repos.revisions.split_revision_path`.
"""
from django.urls import re_path

from repos.api import lfs_files, likes, misc, namespaces, routes_access, routes_read, routes_write, xet_tokens
from repos.api.patterns import ID, T
from repos.reviews.api import routes as review_routes

urlpatterns = [
    re_path(rf"^{T}/{ID}/xet-read-token/(?P<rev>.+)$", xet_tokens.xet_read_token),
    re_path(rf"^{T}/{ID}/xet-write-token/(?P<rev>.+)$", xet_tokens.xet_write_token),
    re_path(r"^agent-harnesses$", misc.agent_harnesses),
    *routes_read.urlpatterns,
    *routes_write.urlpatterns,
    *routes_access.urlpatterns,
    *review_routes.urlpatterns,
    re_path(rf"^{T}/{ID}/like$", likes.RepoLikeApi.as_view()),
    re_path(rf"^{T}/{ID}/likers$", likes.repo_likers_api),
    re_path(r"^users/(?P<username>[\w.\-]+)/likes$", likes.user_likes_api),
    re_path(rf"^{T}/{ID}/lfs-files$", lfs_files.lfs_files_api),
    re_path(rf"^{T}/{ID}/lfs-files/batch$", lfs_files.LfsFilesBatchApi.as_view()),
    re_path(r"^settings/repositories$", namespaces.my_repositories_api),
    re_path(r"^organizations/(?P<org>[\w.\-]+)/settings/repositories$", namespaces.org_repositories_api),
    re_path(r"^organizations/(?P<org>[\w.\-]+)/overview$", namespaces.org_overview_api),
    re_path(r"^users/(?P<username>[\w.\-]+)/overview$", namespaces.user_overview_api),
    # Last: an id without a namespace names no repository (RepoNotFound, not EndpointNotFound).
    re_path(rf"^{T}/(?P<name>[\w.\-]+)(?:/revision/(?P<rev>.+))?$", misc.namespaceless_repo),
]
