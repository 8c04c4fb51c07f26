"""Browser account pages: sign-up (unless HUB_OPEN_SIGNUP=0), log-in (rate limited), log-out,
profile settings, password change and reset (Django's views; mail goes through SMTP when
HUB_EMAIL_HOST is set, else to the console: hub/settings/base.py)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.auth.ratelimit import LOCKED_MESSAGE, login_allowed
from accounts.services.users import user_create, user_update_profile
from accounts.web.forms import ProfileForm, SignupForm
from hub.exceptions import HubError

# Several backends are configured: a fresh account is logged in through the password one.
PASSWORD_BACKEND = "accounts.auth.ratelimit.RateLimitedModelBackend"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Refuse before any password is checked: a locked-out guesser learns nothing more.
        if not login_allowed(request, request.POST.get("username", "")):
            # An unbound form: validating it would run (and count) a password check.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(form=form, locked_message=LOCKED_MESSAGE)
            response = self.render_to_response(context, status=429)
            # The failures expire at the latest one window after the first of them.
            response["Retry-After"] = str(int(getattr(settings, "LOGIN_FAILURE_WINDOW", 300)))
            return response
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link or an image on another site cannot log anyone out."""


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


SIGNUP_CLOSED_MESSAGE = ("Sign-up is closed on this hub: accounts are created by its administrators. "
                         "Ask one of them for an account.")


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect("/")
    if not settings.HUB_OPEN_SIGNUP:
        # HUB_OPEN_SIGNUP=0: operators create accounts (`manage.py users create`); the page says so.
        return render(request, "accounts/signup.html", {"closed_message": SIGNUP_CLOSED_MESSAGE}, status=403)
    form = SignupForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = user_create(username=data["username"], password=data["password1"], email=data["email"])
            except HubError as exc:
                form.add_error("username", exc.message)
                status = exc.status
            else:
                login(request, user, backend=PASSWORD_BACKEND)
                messages.success(request, f"Welcome to ModelHub, {user.username}!")
                return HttpResponseRedirect(_safe_next(request))
    return render(request, "accounts/signup.html", {"form": form, "next": _safe_next(request)}, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile_settings(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            user_update_profile(user=request.user, fullname=form.cleaned_data["fullname"],
                                email=form.cleaned_data["email"])
            messages.success(request, "Profile updated.")
            return HttpResponseRedirect("/settings/profile")
        status = 400
    return render(request, "accounts/settings_profile.html", {"form": form, "settings_tab": "profile"},
                  status=status)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = "/settings/profile"
    extra_context = {"settings_tab": "password"}

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = "/password-reset/sent"

    def form_valid(self, form: Any) -> HttpResponse:
        # The link is built from PUBLIC_URL, never from the Host header a client chose.
        self.extra_email_context = {"public_url": settings.PUBLIC_URL}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = "/password-reset/complete"


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
