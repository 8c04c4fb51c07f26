"""Safety pages, mounted by `hub/urls.py` before the repository pages (whose `{ns}/{name}`
patterns are more general)."""
from django.urls import re_path

from safety import views

REPO = r"^(?:(?P<prefix>datasets|spaces)/)?(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"

urlpatterns = [
    re_path(rf"{REPO}/personal-data$", views.personal_data, name="repo-personal-data"),
    re_path(rf"{REPO}/personal-data/redact$", views.redact),
    re_path(rf"{REPO}/personal-data/settings$", views.privacy_settings),
]
