"""File bytes: `/{ns}/{name}/resolve/{rev}/{path}` and the datasets/ and spaces/ forms."""
from django.urls import re_path

from repos.api.patterns import ID, PREFIX
from repos.views.resolve import resolve_file

urlpatterns = [
    re_path(rf"^{PREFIX}{ID}/resolve/(?P<remainder>.+)$", resolve_file),
]
