"""Browser session routes, included by `repos/views/urls.py` at the site root."""
from django.urls import path

from accounts import views

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
]
