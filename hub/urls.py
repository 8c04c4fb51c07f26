"""The URL space, composed from every app's routes. Order matters (ARCHITECTURE.md):

0. the OpenAPI schema    /.well-known/openapi.json, /api/schema, /api/docs (hub/http/openapi.py)
1. /api/...              the HF-compatible API and our own: accounts' (whoami, organizations,
                         tokens), then repositories', then safety's (personal-data reports), then jobs';
                         unknown /api/ routes answer a JSON 404
2. git smart HTTP + LFS  /{ns}/{name}[.git]/info/refs, git-upload-pack, git-receive-pack,
                         /{ns}/{name}.git/info/lfs/..., the signed /lfs-upload/, datasets/ forms
3. /resolve/             file bytes
4. HTML last             admin; account and organization pages (before the repository routes,
                         which would read `{org}/settings/members` as a repository); the
                         safety pages (`{repo}/security`, `{repo}/personal-data`); the jobs pages
                         (`/jobs/N`, `{repo}/jobs`); then repositories
                         and `/{name}` profiles
"""
from django.contrib import admin
from django.urls import include, path, re_path

from hub.http.handlers import api_not_found
from hub.http.openapi_views import ApiSchemaApi, api_docs

urlpatterns = [
    # The published schema of every client route (hub/http/openapi.py) and its page.
    path(".well-known/openapi.json", ApiSchemaApi.as_view()),
    path("api/schema", ApiSchemaApi.as_view()),
    path("api/docs", api_docs),
    path("api/", include("accounts.api.urls")),
    path("api/", include("repos.api.urls")),
    path("api/", include("safety.api_urls")),
    path("api/", include("jobs.api_urls")),
    re_path(r"^api/", api_not_found),
    path("", include("repos.transport.urls")),
    path("admin/", admin.site.urls),
    path("", include("accounts.web.urls")),
    path("", include("safety.urls")),
    path("", include("jobs.urls")),
    path("", include("repos.views.urls")),
]

handler400 = "hub.http.handlers.bad_request"
handler403 = "hub.http.handlers.permission_denied"
handler404 = "hub.http.handlers.not_found"
handler500 = "hub.http.handlers.server_error"
