"""Write routes of the HF API (mounted under /api/ by `repos.api.urls`).

Revisions are the last segment and captured with `.+`: servers decode `%2F`, so
`refs%2Fpr%2F1` arrives as `refs/pr/1` (HF_PROTOCOL.md §2.1).
"""
from django.urls import re_path

from repos.api.patterns import ID, T
from repos.api.write import commits, refs, repos, yaml_validation

urlpatterns = [
    re_path(r"^repos/create$", repos.RepoCreateApi.as_view()),
    re_path(r"^repos/delete$", repos.RepoDeleteApi.as_view()),
    re_path(r"^repos/move$", repos.RepoMoveApi.as_view()),
    re_path(r"^validate-yaml$", yaml_validation.validate_yaml),
    re_path(rf"^{T}/{ID}/settings$", repos.RepoSettingsApi.as_view()),
    re_path(rf"^{T}/{ID}/preupload/(?P<rev>.+)$", commits.PreuploadApi.as_view()),
    re_path(rf"^{T}/{ID}/commit/(?P<rev>.+)$", commits.commit_view),
    re_path(rf"^{T}/{ID}/branch/(?P<rev>.+)$", refs.BranchApi.as_view()),
    re_path(rf"^{T}/{ID}/tag/(?P<rev>.+)$", refs.TagApi.as_view()),
    re_path(rf"^{T}/{ID}/super-squash/(?P<rev>.+)$", refs.SuperSquashApi.as_view()),
]
