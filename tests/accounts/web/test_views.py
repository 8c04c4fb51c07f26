"""Account pages: sign-up, log-in (rate limited), log-out, profile, password change and reset."""
from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings

from accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_signup_creates_the_user_logs_in_and_goes_home():
    client = Client()
    page = client.get("/join")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content
    r = client.post("/join", {"username": "carol", "email": "carol@example.com",
                              "password1": "Sturdy-Passw0rd!", "password2": "Sturdy-Passw0rd!"})
    assert r.status_code == 302 and r["Location"] == "/"
    carol = User.objects.get(username="carol")
    assert carol.email == "carol@example.com"
    assert carol.check_password("Sturdy-Passw0rd!")
    assert client.get("/settings/profile").status_code == 200  # logged in


@pytest.mark.parametrize("data, field", [
    ({"username": "bob", "password1": "Sturdy-Passw0rd!", "password2": "Sturdy-Passw0rd!"}, "already taken"),
    ({"username": "models", "password1": "Sturdy-Passw0rd!", "password2": "Sturdy-Passw0rd!"}, "reserved"),
    ({"username": "bad/name", "password1": "Sturdy-Passw0rd!", "password2": "Sturdy-Passw0rd!"}, "Invalid"),
    ({"username": "dave", "password1": "Sturdy-Passw0rd!", "password2": "other-Passw0rd!"}, "do not match"),
    ({"username": "dave", "password1": "password", "password2": "password"}, "too common"),
])
def test_signup_rejects_bad_input_without_creating_anyone(bob, data, field):
    before = User.objects.count()
    r = Client().post("/join", {"email": "x@example.com", **data})
    assert r.status_code in (400, 409)
    assert field in r.content.decode()
    assert User.objects.count() == before


def test_signup_refuses_an_offsite_next():
    r = Client().post("/join", {"username": "erin", "email": "e@example.com", "password1": "Sturdy-Passw0rd!",
                                "password2": "Sturdy-Passw0rd!", "next": "https://evil.example/"})
    assert r["Location"] == "/"


def test_login_failure_shows_the_form_again_and_success_redirects(alice):
    client = Client()
    r = client.post("/login", {"username": "alice", "password": "wrong"})
    assert r.status_code == 200 and "_auth_user_id" not in client.session
    assert "Please enter a correct username and password" in r.content.decode()
    r = client.post("/login", {"username": "alice", "password": "alice-password-1", "next": "/settings/tokens"})
    assert r.status_code == 302 and r["Location"] == "/settings/tokens"
    assert AuditEvent.objects.filter(action="auth.login", actor=alice).exists()


@override_settings(LOGIN_FAILURES_PER_USER=3)
def test_login_is_rate_limited_even_with_the_right_password(alice):
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert client.post("/login", {"username": "alice", "password": "nope"}).status_code == 200
    r = client.post("/login", {"username": "alice", "password": "alice-password-1"})
    assert r.status_code == 429
    assert "Too many failed login attempts" in r.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not locked out.
    other = Client(REMOTE_ADDR="203.0.113.8")
    assert other.post("/login", {"username": "alice", "password": "alice-password-1"}).status_code == 302


def test_logout_is_post_only(alice_client):
    assert alice_client.get("/logout").status_code == 405
    assert alice_client.post("/logout").status_code == 302
    assert alice_client.get("/settings/profile").status_code == 302  # back to the login page


def test_profile_settings_update_name_and_email(alice, alice_client):
    r = alice_client.post("/settings/profile", {"fullname": "Alice <b>A</b>", "email": "new@example.com"})
    assert r.status_code == 302
    alice.refresh_from_db()
    assert (alice.fullname, alice.email) == ("Alice <b>A</b>", "new@example.com")
    page = Client().get("/alice").content.decode()
    assert "Alice &lt;b&gt;A&lt;/b&gt;" in page and "<b>A</b>" not in page


def test_password_change(alice, alice_client):
    r = alice_client.post("/settings/password", {"old_password": "alice-password-1",
                                                 "new_password1": "Another-Passw0rd!",
                                                 "new_password2": "Another-Passw0rd!"})
    assert r.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("Another-Passw0rd!")
    assert alice_client.get("/settings/profile").status_code == 200  # the session survived
    bad = alice_client.post("/settings/password", {"old_password": "wrong", "new_password1": "x",
                                                   "new_password2": "x"})
    assert bad.status_code == 200 and "incorrect" in bad.content.decode()


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                   PUBLIC_URL="http://hub.example")
def test_password_reset_by_email_link(alice):
    client = Client()
    r = client.post("/password-reset", {"email": "alice@example.com"}, HTTP_HOST="localhost")
    assert r.status_code == 302 and r["Location"] == "/password-reset/sent"
    assert len(mail.outbox) == 1
    link = re.search(r"http://hub\.example(/password-reset/\S+/\S+)", mail.outbox[0].body).group(1)
    r = client.get(link)  # Django swaps the token for a session marker
    assert r.status_code == 302
    r = client.post(r["Location"], {"new_password1": "Reset-Passw0rd!", "new_password2": "Reset-Passw0rd!"})
    assert r.status_code == 302 and r["Location"] == "/password-reset/complete"
    alice.refresh_from_db()
    assert alice.check_password("Reset-Passw0rd!")
    # An unknown address gets the same answer and no mail.
    r = client.post("/password-reset", {"email": "nobody@example.com"})
    assert r.status_code == 302 and len(mail.outbox) == 1


def test_account_pages_require_login():
    for url in ("/settings/profile", "/settings/password", "/settings/tokens", "/organizations/new"):
        r = Client().get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login?next="), url


def test_nav_shows_signup_or_the_user_menu(alice_client):
    anonymous = Client().get("/").content.decode()
    assert 'href="/join"' in anonymous and "/settings/tokens" not in anonymous
    page = alice_client.get("/").content.decode()
    assert 'href="/settings/tokens"' in page and 'href="/organizations/new"' in page and 'href="/alice"' in page
