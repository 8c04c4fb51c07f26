"""Audit and rate-limit bookkeeping of logins (a decoupled concern: django.contrib.auth
sends these signals from every login path)."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from accounts.auth.ratelimit import login_failed, login_succeeded
from accounts.services.audit import audit
from hub.http.client import client_ip


@receiver(user_logged_in, dispatch_uid="accounts.audit_login")
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    login_succeeded(request, user.get_username())
    audit(action="auth.login", actor=user, target=f"user:{user.get_username()}", ip=client_ip(request))


@receiver(user_login_failed, dispatch_uid="accounts.audit_login_failed")
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # `credentials` has the password masked by Django; only the username is kept anyway.
    username = str(credentials.get("username", ""))[:150]
    login_failed(request, username)
    audit(action="auth.login_failed", target=f"user:{username}", ip=client_ip(request))
