"""Helpers of the HTML pages: decorators, and the post-redirect-get of a settings change."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from hub.exceptions import HubError


def login_required_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous requests go to the login page (and come back after), before anything is
    looked up or parsed."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)
    return wrapper


def change_and_return(request: HttpRequest, change: Callable[[], str], back_to: str) -> HttpResponse:
    """Run `change` (one service call returning the success message), flash its message or the
    HubError's, and go back to `back_to` (post-redirect-get: a reload repeats nothing)."""
    try:
        text = change()
    except HubError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, text)
    return HttpResponseRedirect(back_to)
