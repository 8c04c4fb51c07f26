"""Browser sign-in and sign-out with Django's auth views (sign-up comes with the accounts pages)."""
from __future__ import annotations

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link or an image on another site cannot log anyone out."""
