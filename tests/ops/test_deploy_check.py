"""The documented HTTPS deployment (README): `manage.py check --deploy --fail-level WARNING` is
clean with hub.settings.prod and HUB_PUBLIC_URL=https://..., and the settings it checks act:
plain HTTP is redirected, HTTPS (as the proxy reports it) gets HSTS."""
from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from tests.live import PYTHON, ROOT

HOST = "hub.example.com"
PROBE = f"""
import django
django.setup()
from django.test import Client
client = Client()
plain = client.get("/api/agent-harnesses", HTTP_HOST="{HOST}")
print("plain", plain.status_code, plain.get("Location"))
https = client.get("/api/agent-harnesses", HTTP_HOST="{HOST}", HTTP_X_FORWARDED_PROTO="https")
print("https", https.status_code, https.get("Strict-Transport-Security"))
"""


def _env(tmp_path: Path, public_url: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "hub.settings.prod",
            "HUB_DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": secrets.token_urlsafe(50),
            "HUB_PUBLIC_URL": public_url, "ALLOWED_HOSTS": HOST}


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_for_the_documented_https_deployment(tmp_path: Path) -> None:
    env = _env(tmp_path, f"https://{HOST}")
    result = _check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

    probe = subprocess.run([PYTHON, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert f"plain 301 https://{HOST}/api/agent-harnesses" in probe.stdout
    assert "https 200 max-age=31536000; includeSubDomains; preload" in probe.stdout


def test_check_deploy_flags_a_plain_http_deployment(tmp_path: Path) -> None:
    # The same check fails when the hub is not behind HTTPS: the test above can fail.
    result = _check(_env(tmp_path, f"http://{HOST}"))
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout, warning


HEADERS_PROBE = f"""
import json
import django
django.setup()
from django.test import Client
client = Client()
seen = {{}}
for path in ("/", "/login", "/api/models", "/api/no-such-route", "/no/such/page", "/static/css/hub.css",
             "/static/admin/css/base.css", "/acme/missing.git/info/refs?service=git-upload-pack",
             "/acme/missing/resolve/main/x.html"):
    r = client.get(path, HTTP_HOST="{HOST}", HTTP_X_FORWARDED_PROTO="https")
    if r.streaming:
        r.close()
    seen[path] = {{"status": r.status_code, **{{k: r.get(k) for k in (
        "Strict-Transport-Security", "Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
        "Referrer-Policy", "Cross-Origin-Opener-Policy", "Content-Type")}},
                  "cookies": {{name: bool(morsel["secure"]) for name, morsel in r.cookies.items()}}}}
print(json.dumps(seen))
"""


def test_production_responses_all_carry_hsts_and_the_security_headers(tmp_path: Path) -> None:
    """With the production settings behind HTTPS: pages, API, errors, git, files and static files
    all carry HSTS and the security headers (the middleware order puts them on every answer)."""
    env = _env(tmp_path, f"https://{HOST}")
    migrate = subprocess.run([PYTHON, str(ROOT / "manage.py"), "migrate", "--noinput"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    probe = subprocess.run([PYTHON, "-c", HEADERS_PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    for path, headers in seen.items():
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload", path
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin" and headers["Cross-Origin-Opener-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"] or ""
        if (headers["Content-Type"] or "").startswith("text/html"):
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        else:
            assert csp.startswith("default-src 'none'"), path
        assert all(headers["cookies"].values()), path  # cookies only ever travel over HTTPS
    assert seen["/static/css/hub.css"]["status"] == 200 and seen["/"]["status"] == 200
    assert "csrftoken" in seen["/login"]["cookies"]  # the login form set one: it was checked
