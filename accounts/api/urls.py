"""Account API routes, mounted under /api/ by `hub/urls.py`: `whoami-v2` (HF), and ours:
organizations, members, tokens, the organization audit log."""
from django.urls import re_path

from accounts.api import orgs as api_orgs
from accounts.api import tokens as api_tokens
from accounts.api.whoami import whoami

ORG = r"(?P<org>[\w.\-]+)"

urlpatterns = [
    re_path(r"^whoami-v2$", whoami),
    re_path(r"^organizations$", api_orgs.OrganizationListApi.as_view()),
    re_path(rf"^organizations/{ORG}/members$", api_orgs.MemberListApi.as_view()),
    re_path(rf"^organizations/{ORG}/members/(?P<username>[\w.\-]+)$", api_orgs.MemberApi.as_view()),
    re_path(rf"^organizations/{ORG}/audit$", api_orgs.OrgAuditApi.as_view()),
    re_path(r"^tokens$", api_tokens.TokenListApi.as_view()),
    re_path(r"^tokens/(?P<token_id>[0-9]+)$", api_tokens.TokenApi.as_view()),
]
