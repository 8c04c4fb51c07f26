"""Access-control routes on one repository (mounted under /api/ by `repos.api.urls`)."""
from django.urls import re_path

from repos.api import access
from repos.api.patterns import ID, T

USER = r"(?P<username>[\w.\-]+)"

urlpatterns = [
    re_path(rf"^{T}/{ID}/collaborators$", access.CollaboratorListApi.as_view()),
    re_path(rf"^{T}/{ID}/collaborators/{USER}$", access.CollaboratorApi.as_view()),
    re_path(rf"^{T}/{ID}/ask-access$", access.AskAccessApi.as_view()),
    re_path(rf"^{T}/{ID}/user-access-request/(?P<status>pending|accepted|rejected)$",
            access.AccessRequestListApi.as_view()),
    re_path(rf"^{T}/{ID}/user-access-request/handle$", access.AccessRequestHandleApi.as_view()),
    re_path(rf"^{T}/{ID}/user-access-request/grant$", access.AccessRequestGrantApi.as_view()),
    re_path(rf"^{T}/{ID}/audit$", access.RepoAuditApi.as_view()),
]
