"""Decorators of the HTML pages."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse


def login_required_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous requests go to the login page (and come back after), before anything is
    looked up or parsed."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)
    return wrapper
