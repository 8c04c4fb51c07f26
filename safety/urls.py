"""HTML routes of the safety app, mounted before the repository pages (hub/urls.py)."""
from django.urls import re_path

from safety import dataset_views, views

REPO = r"^(?:(?P<prefix>datasets|spaces)/)?(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"

urlpatterns = [
    re_path(rf"{REPO}/security$", views.security_page, name="repo-security"),
    re_path(rf"{REPO}/settings/security$", views.security_settings, name="repo-security-settings"),
    re_path(rf"{REPO}/personal-data$", dataset_views.personal_data, name="repo-personal-data"),
    re_path(rf"{REPO}/personal-data/redact$", dataset_views.redact),
    re_path(rf"{REPO}/personal-data/settings$", dataset_views.privacy_settings),
]
