"""The like button and the popularity numbers on repository pages."""
from __future__ import annotations

import pytest

from tests.factories import seeded_model

pytestmark = pytest.mark.django_db


def test_like_and_unlike_from_the_page(client, bob_client, alice):
    repo = seeded_model(alice).repo
    page = f"/{repo.repo_id}"
    assert "♥ 0 likes" in client.get(page).content.decode()
    r = bob_client.post(f"{page}/like", {"liked": "1"})
    assert r.status_code == 302 and r["Location"] == page
    bob_client.post(f"{page}/like", {"liked": "1"})  # a second like changes nothing
    html = bob_client.get(page).content.decode()
    assert 'aria-pressed="true"' in html and '♥ Liked <span class="count">1</span>' in html
    assert "♥ 1 like<" in client.get(page).content.decode()
    bob_client.post(f"{page}/like", {"liked": "0"})
    assert '♡ Like <span class="count">0</span>' in bob_client.get(page).content.decode()


def test_downloads_are_shown_and_counted_once_per_full_config_get(client, alice):
    repo = seeded_model(alice).repo
    page = f"/{repo.repo_id}"
    assert "↓ 0 downloads" in client.get(page).content.decode()
    url = f"/{repo.repo_id}/resolve/main/config.json"
    client.head(url)
    assert client.get(url, headers={"Range": "bytes=0-1"}).status_code == 206
    for _ in range(2):
        assert client.get(url).status_code == 200
    assert client.get(f"/{repo.repo_id}/resolve/main/model.safetensors").status_code == 200  # it has a config
    repo.refresh_from_db()
    assert repo.downloads == 2  # two full GETs above (the HEAD and the range request do not count)
    assert "↓ 2 downloads" in client.get(page).content.decode()


def test_anonymous_likes_go_to_the_login_page(client, alice):
    repo = seeded_model(alice).repo
    r = client.post(f"/{repo.repo_id}/like", {"liked": "1"})
    assert r.status_code == 302 and "login" in r["Location"]
    repo.refresh_from_db()
    assert repo.likes == 0
