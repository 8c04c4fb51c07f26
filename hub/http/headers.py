"""Security headers of every response: the one home of the header rules.

`SecurityHeadersMiddleware` is the outermost middleware, so every response gets them: HTML
pages, API JSON, errors (404/500/CSRF pages and Django's own refusals), git smart HTTP, LFS,
/resolve/ bytes, the Xet CAS and static files (WhiteNoise answers before the inner
middleware runs). The gunicorn worker's own refusals (408/503 before Django saw a request)
carry `BASELINE` too.

- HTML pages get a strict Content-Security-Policy: no inline script or style anywhere in
  templates/ or static/ (script-src/style-src 'self' only), so even a Markdown sanitizer bypass
  cannot run script in the hub's origin. Images may come from https (README badges).
- Every other response gets `default-src 'none'`: a JSON body, a git pack or a static file
  opened as a document can load nothing and run nothing, and cannot be framed.
- Responses that set their own policy keep it: user files (`repos.transport.serving`) are
  served with a sandboxing CSP, as attachments when a browser would render them.
- HSTS comes from Django's SecurityMiddleware (production over HTTPS, hub/settings/prod.py);
  it sits inside this middleware and sees every response too.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # no Django at import: the gunicorn worker (master process) imports BASELINE
    from django.http import HttpRequest, HttpResponseBase

PAGE_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Anything that is not a page: nothing may load, run or frame it.
RESOURCE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# On every response, whatever its type.
BASELINE: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Features no page of the hub uses: denied to any script that would get to run anyway.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def security_headers(content_type: str) -> dict[str, str]:
    """The headers a response of `content_type` carries unless it set them itself."""
    headers = dict(BASELINE)
    is_page = content_type.split(";", 1)[0].strip().lower() in ("text/html", "application/xhtml+xml")
    headers["Content-Security-Policy"] = PAGE_CSP if is_page else RESOURCE_CSP
    if is_page:
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
    return headers


class SecurityHeadersMiddleware:
    """Adds `security_headers` to every response (first in MIDDLEWARE: it wraps all others)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        for key, value in security_headers(response.get("Content-Type", "")).items():
            response.headers.setdefault(key, value)
        return response
