"""Safety API routes, mounted under /api/ by `hub/urls.py` (before the API's catch-all)."""
from django.urls import re_path

from repos.api.patterns import ID, T
from safety import api

urlpatterns = [
    re_path(rf"^{T}/{ID}/personal-data$", api.PersonalDataReportApi.as_view()),
    re_path(rf"^{T}/{ID}/personal-data/settings$", api.PersonalDataSettingsApi.as_view()),
    re_path(rf"^{T}/{ID}/personal-data/redact$", api.PersonalDataRedactApi.as_view()),
    re_path(rf"^{T}/{ID}/personal-data/redactions/(?P<redaction_id>[0-9]{{1,18}})$",
            api.PersonalDataRedactionApi.as_view()),
]
