"""`/settings/tokens`: list, create (read, write or fine-grained, with expiry) and revoke
access tokens. The secret is rendered once, in the response to the creation; the page is
never cached."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import AccessToken
from accounts.permissions import can_manage_token, request_principal
from accounts.selectors import token_of, tokens_of, user_memberships
from accounts.services.tokens import repository_scopes, token_create, token_revoke, token_scope_grant
from accounts.web.forms import TokenCreateForm
from hub.exceptions import Forbidden, HubError
from hub.http.client import client_ip


def _owner(request: HttpRequest) -> Any:
    user, token = request_principal(request)
    if not can_manage_token(user, user, token=token):
        raise Forbidden("Managing tokens needs a browser session or a write token")
    return user


def _scope_choices(user: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """What the scope chooser offers: the user's organizations and the repositories under
    their own or their organizations' names that they can see."""
    orgs = [m.organization.name for m in user_memberships(user)]
    return orgs, repository_scopes().choices(user)


def _page(request: HttpRequest, user: Any, form: TokenCreateForm, *, created: AccessToken | None = None,
          secret: str = "", status: int = 200) -> HttpResponse:
    tokens = tokens_of(user)
    ctx = {"form": form, "tokens": tokens, "created": created, "secret": secret, "settings_tab": "tokens"}
    return render(request, "accounts/tokens.html", ctx, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = _owner(request)
    orgs, repos = _scope_choices(user)
    if request.method != "POST":
        return _page(request, user, TokenCreateForm(orgs=orgs, repos=repos))
    form = TokenCreateForm(request.POST, orgs=orgs, repos=repos)
    if not form.is_valid():
        return _page(request, user, form, status=400)
    try:
        grants = [token_scope_grant(user, scope) for scope in form.scopes()]
        token, secret = token_create(user=user, name=form.cleaned_data["name"], role=form.cleaned_data["role"],
                                     expires_at=form.expires_at(), scopes=grants, ip=client_ip(request))
    except HubError as exc:
        form.add_error(None, exc.message)
        return _page(request, user, form, status=exc.status)
    # Rendered, not redirected: the secret must not travel through a URL or the session.
    return _page(request, user, TokenCreateForm(orgs=orgs, repos=repos), created=token, secret=secret)


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    user = _owner(request)
    token = token_of(user, token_id)
    token_revoke(token=token, actor=user, ip=client_ip(request))
    messages.success(request, f"Token “{token.name}” revoked.")
    return HttpResponseRedirect("/settings/tokens")
