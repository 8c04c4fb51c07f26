"""The documented HTTPS deployment (README): `manage.py check --deploy --fail-level WARNING` is
clean with hub.settings.prod and HUB_PUBLIC_URL=https://..., and the settings it checks act:
plain HTTP is redirected, HTTPS (as the proxy reports it) gets HSTS."""
from __future__ import annotations

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
