"""POST /api/validate-yaml: always JSON (huggingface_hub reads the body before the status)."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db

GOOD = "---\nlicense: mit\ntags:\n- text\n---\n# Card\n"
BAD = "---\nlicense: [mit\n---\n# Card\n"


def validate(client, body, **extra):
    return client.post("/api/validate-yaml", data=json.dumps(body), content_type="application/json", **extra)


def test_valid_card(client):
    r = validate(client, {"content": GOOD, "repoType": "model"})
    assert r.status_code == 200 and r.json() == {"errors": [], "warnings": []}
    r = validate(client, {"content": "# no metadata at all\n", "repoType": "dataset"})
    assert r.status_code == 200


def test_invalid_yaml_is_400_with_messages(client):
    r = validate(client, {"content": BAD, "repoType": "model"})
    assert r.status_code == 400
    body = r.json()
    assert body["warnings"] == [] and body["errors"] and body["errors"][0]["message"]


def test_non_mapping_front_matter(client):
    r = validate(client, {"content": "---\n- a\n- b\n---\n"})
    assert r.status_code == 400 and r.json()["errors"]


@pytest.mark.parametrize("raw", [b"{oops", b"[]", b'{"content": 5}', b""])
def test_malformed_requests_still_get_json(client, raw):
    r = client.post("/api/validate-yaml", data=raw, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"]


def test_plain_text_for_repocard_validate(client):
    r = validate(client, {"content": BAD, "repoType": "model"}, HTTP_ACCEPT="text/plain")
    assert r.status_code == 400 and r["Content-Type"].startswith("text/plain") and r.content


def test_form_body_of_old_clients(client):
    r = client.post("/api/validate-yaml", data={"content": GOOD, "repoType": "model"})
    assert r.status_code == 200 and r.json()["errors"] == []


def test_get_is_not_allowed_but_json(client):
    r = client.get("/api/validate-yaml")
    assert r.status_code == 405 and "errors" in r.json()
