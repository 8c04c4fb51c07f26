"""Open sign-up can be switched off (HUB_OPEN_SIGNUP), and mail goes out through the SMTP
server the environment names (HUB_EMAIL_*): a password reset reaches a real SMTP listener."""
from __future__ import annotations

import json
import os
import re
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings

from accounts.models import User
from tests.live import PYTHON, ROOT

pytestmark = pytest.mark.django_db


@override_settings(HUB_OPEN_SIGNUP=False)
def test_closed_signup_refuses_with_a_clear_message_and_hides_the_links():
    client = Client()
    page = client.get("/join")
    assert page.status_code == 403
    html = page.content.decode()
    assert "Sign-up is closed on this hub" in html and 'action="/join"' not in html
    r = client.post("/join", {"username": "mallory", "email": "m@example.com", "password1": "Sturdy-Passw0rd!",
                              "password2": "Sturdy-Passw0rd!"})
    assert r.status_code == 403 and "Sign-up is closed" in r.content.decode()
    assert not User.objects.filter(username="mallory").exists()
    for url in ("/", "/login"):
        assert 'href="/join' not in client.get(url).content.decode(), url


def test_open_signup_is_the_default_and_offers_the_links():
    client = Client()
    assert client.get("/join").status_code == 200
    assert 'href="/join"' in client.get("/").content.decode()
    assert 'href="/join' in client.get("/login").content.decode()


def _settings_in(env: dict[str, str], tmp_path: Path) -> dict[str, object]:
    """The email and sign-up settings a process started with `env` gets."""
    code = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps("
            "{k: getattr(s, k) for k in ('EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER',"
            " 'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'EMAIL_USE_SSL', 'DEFAULT_FROM_EMAIL', 'HUB_OPEN_SIGNUP')}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "EMAIL_", "DEFAULT_FROM"))}
    full = {**base, "DJANGO_SETTINGS_MODULE": "hub.settings.dev", "HUB_DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "k" * 40, "HUB_PUBLIC_URL": "https://hub.example.com", "ALLOWED_HOSTS": "hub.example.com",
            **env}
    out = subprocess.run([PYTHON, "-c", code], env=full, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_email_and_signup_settings_come_from_the_environment(tmp_path: Path):
    default = _settings_in({}, tmp_path)
    assert default["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert default["HUB_OPEN_SIGNUP"] is True
    smtp = _settings_in({"HUB_EMAIL_HOST": "smtp.example.com", "HUB_EMAIL_USER": "hub", "HUB_EMAIL_PASSWORD": "pw",
                         "HUB_EMAIL_FROM": "Hub <hub@example.com>", "HUB_OPEN_SIGNUP": "0"}, tmp_path)
    assert smtp == {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "smtp.example.com",
                    "EMAIL_PORT": 587, "EMAIL_HOST_USER": "hub", "EMAIL_HOST_PASSWORD": "pw", "EMAIL_USE_TLS": True,
                    "EMAIL_USE_SSL": False, "DEFAULT_FROM_EMAIL": "Hub <hub@example.com>", "HUB_OPEN_SIGNUP": False}
    implicit_tls = _settings_in({"HUB_EMAIL_HOST": "smtp.example.com", "HUB_EMAIL_PORT": "465",
                                 "HUB_EMAIL_USE_SSL": "1"}, tmp_path)
    assert implicit_tls["EMAIL_USE_SSL"] is True and implicit_tls["EMAIL_USE_TLS"] is False
    prod = _settings_in({"DJANGO_SETTINGS_MODULE": "hub.settings.prod"}, tmp_path)
    assert prod["HUB_OPEN_SIGNUP"] is False  # production: closed unless HUB_OPEN_SIGNUP=1


class _SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message (what Django's smtp backend sends, without TLS)."""

    def handle(self) -> None:
        def reply(line: str) -> None:
            self.wfile.write(f"{line}\r\n".encode())

        reply("220 sink ready")
        while line := self.rfile.readline():
            command = line.decode("latin-1").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                reply("250 sink")
            elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                reply("250 ok")
            elif command == "DATA":
                reply("354 go on")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                self.server.messages.append(b"".join(data).decode("utf-8", "replace"))  # type: ignore[attr-defined]
                reply("250 queued")
            elif command == "QUIT":
                reply("221 bye")
                return
            else:
                reply("502 not implemented")


@pytest.fixture
def smtp_sink() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSink)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_password_reset_mail_goes_through_smtp(alice, smtp_sink, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_sink.server_address
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.PUBLIC_URL = "https://hub.example.com"
    r = Client().post("/password-reset", {"email": "alice@example.com"})
    assert r.status_code == 302 and r["Location"] == "/password-reset/sent"
    assert len(smtp_sink.messages) == 1
    message = smtp_sink.messages[0]
    assert "To: alice@example.com" in message
    assert re.search(r"https://hub\.example\.com/password-reset/\S+/\S+", message)
