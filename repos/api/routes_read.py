"""Read routes of the HF API (mounted under /api/ by `repos.api.urls`).

Revisions that end the URL are captured with `.+` (`refs/pr/1` arrives with its slashes
decoded); the tree's `rev/path` remainder is split by `repos.revisions.split_revision_path`.
"""
from django.urls import re_path

from repos.api.patterns import ID, T
from repos.api.read import history, info, listing, tree

urlpatterns = [
    re_path(rf"^{T}$", listing.repo_list_api),
    re_path(rf"^{T}/{ID}$", info.repo_info_api),
    re_path(rf"^{T}/{ID}/revision/(?P<rev>.+)$", info.repo_info_api),
    re_path(rf"^{T}/{ID}/auth-check(?:/(?P<access>write))?$", info.auth_check_api),
    re_path(rf"^{T}/{ID}/tree/(?P<remainder>.+)$", tree.tree_api),
    re_path(rf"^{T}/{ID}/paths-info/(?P<rev>.+)$", tree.paths_info_api),
    re_path(rf"^{T}/{ID}/refs$", history.refs_api),
    re_path(rf"^{T}/{ID}/commits/(?P<rev>.+)$", history.commits_api),
]
