"""The login limit holds across the live server's several gunicorn worker processes: the
counters live in the shared cache (files in the data dir by default), not in one process."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.live


def _login(opener: urllib.request.OpenerDirector, url: str, username: str, password: str) -> int:
    # A fresh connection per attempt, so attempts spread over the server's worker processes.
    page = opener.open(f"{url}/login", timeout=30).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrfmiddlewaretoken": csrf}).encode()
    request = urllib.request.Request(f"{url}/login", data=data, headers={"Referer": f"{url}/login"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_failed_logins_are_counted_across_worker_processes(live_hub):
    live_hub.create_user("rl-live")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    statuses = [_login(opener, live_hub.url, "rl-live", "wrong-password") for _ in range(10)]
    assert 429 not in statuses
    # The right password, after 10 failures: refused, whichever worker answers.
    assert _login(opener, live_hub.url, "rl-live", "rl-live-Pa55word!") == 429
