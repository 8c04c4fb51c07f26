"""URL space. Order matters (see ARCHITECTURE.md):

1. /api/...            HF-compatible API (+ our own), JSON errors with X-Error-Code
2. git smart HTTP + LFS  /{ns}/{name}[.git]/info/refs, git-upload-pack, git-receive-pack,
                         /{ns}/{name}.git/info/lfs/..., and the datasets/ forms
3. /resolve/            file bytes
4. HTML last            /{ns}/{name}, /tree/, /blob/, /commits/, ...
"""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/", include("repos.api.urls")),
    path("", include("repos.urls_git")),
    path("", include("repos.urls_resolve")),
    path("admin/", admin.site.urls),
    path("", include("repos.views.urls")),
]

handler404 = "repos.views.errors.not_found"
handler500 = "repos.views.errors.server_error"
