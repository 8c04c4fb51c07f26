"""Account API routes (ours), mounted under /api/ by `repos.api.urls`: organizations, members,
tokens, the organization audit log."""
from django.urls import re_path

from accounts import api_orgs, api_tokens

ORG = r"(?P<org>[\w.\-]+)"

urlpatterns = [
    re_path(r"^organizations$", api_orgs.OrganizationListApi.as_view()),
    re_path(rf"^organizations/{ORG}/members$", api_orgs.MemberListApi.as_view()),
    re_path(rf"^organizations/{ORG}/members/(?P<username>[\w.\-]+)$", api_orgs.MemberApi.as_view()),
    re_path(rf"^organizations/{ORG}/audit$", api_orgs.OrgAuditApi.as_view()),
    re_path(r"^tokens$", api_tokens.TokenListApi.as_view()),
    re_path(r"^tokens/(?P<token_id>[0-9]+)$", api_tokens.TokenApi.as_view()),
]
