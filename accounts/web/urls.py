"""Browser account and organization routes, included by `hub/urls.py` at the site root before
the repository and `/{name}` routes, which would otherwise match `/settings/tokens` or
`/{org}/settings/members`."""
from django.urls import path, re_path

from accounts.web import orgs, views
from accounts.web import tokens as views_tokens

ORG = r"(?P<org>[\w.\-]+)"
USER = r"(?P<username>[\w.\-]+)"

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("join", views.signup, name="signup"),
    path("settings/profile", views.profile_settings, name="settings-profile"),
    path("settings/password", views.PasswordChangeView.as_view(), name="password_change"),
    path("settings/tokens", views_tokens.tokens, name="settings-tokens"),
    path("settings/tokens/<int:token_id>/revoke", views_tokens.token_revoke_view, name="settings-token-revoke"),
    path("password-reset", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/complete", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Organizations (HF's `/organizations/{org}/settings/members` form too).
    path("organizations/new", orgs.org_new, name="org-new"),
    re_path(rf"^(?:organizations/)?{ORG}/settings/members$", orgs.org_members, name="org-members"),
    re_path(rf"^(?:organizations/)?{ORG}/settings/members/{USER}/role$", orgs.org_member_role),
    re_path(rf"^(?:organizations/)?{ORG}/settings/members/{USER}/remove$", orgs.org_member_remove),
]
