"""The edges of error handling: one header sanitizer, Django's own refusals in the HF error
style, a request Django could not even build, JSON that is too deep for DRF."""
from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import pytest
from django.test import Client

from hub.http.errors import header_value
from tests.factories import auth

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("hub", "accounts", "repos", "jobs", "safety")

# Header values that are not built from user input (numbers, git/sha256 ids, constants), each
# with the reason; every other header assignment must go through `header_value`.
NOT_USER_INPUT = {
    ("hub/http/errors.py", "X-Error-Code"): "an error code of hub.exceptions",
    ("repos/transport/serving.py", "ETag"): "a git or LFS object id",
    ("repos/transport/serving.py", "X-Linked-Etag"): "a git or LFS object id",
    ("repos/transport/serving.py", "Content-Range"): "numbers",
}


def _is_response(node: ast.expr) -> bool:
    return ((isinstance(node, ast.Name) and "response" in node.id)
            or (isinstance(node, ast.Attribute) and node.attr == "headers"))


def _header_assignments(tree: ast.AST):
    """(line, header name, value) of `response["Header"] = value`, `x.headers["Header"] = value`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and _is_response(target.value):
                    name = target.slice.value if isinstance(target.slice, ast.Constant) else ast.unparse(target.slice)
                    yield node.lineno, str(name), node.value


def _safe(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.Name) and value.id.lstrip("_").isupper():
        return True  # a module constant
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("header_value", "str"):
        return value.func.id == "header_value" or all(isinstance(a, ast.Name | ast.Call) for a in value.args)
    return False


def test_every_header_built_from_input_goes_through_header_value():
    offenders = []
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or "/settings/" in rel:
                continue
            for line, name, value in _header_assignments(ast.parse(path.read_text(), rel)):
                if not _safe(value) and (rel, name) not in NOT_USER_INPUT:
                    offenders.append(f"{rel}:{line} {name}")
    assert not offenders, "header values not passed through hub.http.errors.header_value: " + ", ".join(offenders)


@pytest.mark.parametrize("text, expected", [
    ("a\r\nSet-Cookie: x", "a  Set-Cookie: x"),
    ("nul\x00 del\x7f c1\x85", "nul  del  c1 "),
    ("caf\u00e9 \u2603", "caf\u00e9 ?"),
    ("x" * 5000, "x" * 1000),
])
def test_header_value(text, expected):
    assert header_value(text) == expected


@pytest.mark.django_db
def test_wrong_method_on_whoami_is_json():
    r = Client().post("/api/whoami-v2")
    assert r.status_code == 405 and r["Allow"] == "GET, HEAD" and r.json()["error"]


@pytest.mark.django_db
def test_too_many_form_fields_is_a_json_400(settings, repo, tokens):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"paths=f{i}" for i in range(20))
    r = Client().post(f"/api/models/{repo.repo_id}/paths-info/main", body,
                      content_type="application/x-www-form-urlencoded", **auth(tokens["alice"]))
    assert r.status_code == 400 and r["X-Error-Message"] and r.json()["error"]


@pytest.mark.django_db
def test_body_over_the_memory_limit_is_a_json_413(settings, repo, tokens):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    for url in (f"/api/models/{repo.repo_id}/paths-info/main", f"/api/models/{repo.repo_id}/preupload/main",
                "/api/repos/create"):
        r = Client().post(url, b'{"paths": ["' + b"a" * 2000 + b'"]}', content_type="application/json",
                          **auth(tokens["alice"]))
        assert r.status_code == 413 and r["X-Error-Message"], url


@pytest.mark.django_db
def test_unknown_host_is_refused_in_the_route_style():
    r = Client().get("/api/models", HTTP_HOST="evil.example")
    assert r.status_code == 400 and r["X-Error-Message"] == "Bad request"
    assert Client().get("/", HTTP_HOST="evil.example")["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("url, depth_message", [
    ("/api/repos/create", "nested too deeply"),  # DRF (the bounded parser)
    ("/api/models/{id}/paths-info/main", "nested too deeply"),  # plain view
])
def test_deep_json_is_400(repo, tokens, url, depth_message):
    r = Client().post(url.format(id=repo.repo_id), b"[" * 10_000 + b"]" * 10_000, content_type="application/json",
                      **auth(tokens["alice"]))
    assert r.status_code == 400 and depth_message in r["X-Error-Message"]
    r = Client().post(url.format(id=repo.repo_id), b'{"a":' * 100 + b"1" + b"}" * 100,
                      content_type="application/json", **auth(tokens["alice"]))
    assert r.status_code == 400 and depth_message in r["X-Error-Message"]


def test_deep_json_in_validate_yaml_and_commit_lines(db, repo, tokens):
    r = Client().post("/api/validate-yaml", b'{"content": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
                      content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"]
    line = b'{"key": "file", "value": ' + b"[" * 200 + b"]" * 200 + b"}\n"
    r = Client().post(f"/api/models/{repo.repo_id}/commit/main",
                      b'{"key": "header", "value": {"summary": "s"}}\n' + line,
                      content_type="application/x-ndjson", **auth(tokens["alice"]))
    assert r.status_code == 400 and "Line 2 of the commit payload is nested too deeply" in r["X-Error-Message"]


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["bz2_codec", "rot13", "hex_codec", "nope"])
def test_the_wsgi_application_survives_any_charset(charset):
    """Django decoded the query string with any codec `codecs.lookup` knows while building the
    request, before any middleware: `charset=bz2_codec` was a 500 from the WSGI server."""
    from hub.wsgi import application

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/repos/create", "QUERY_STRING": "a=1",
               "CONTENT_TYPE": f"application/json; charset={charset}", "CONTENT_LENGTH": "2",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
               "wsgi.input": io.BytesIO(b"{}"), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
               "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
               "wsgi.version": (1, 0)}
    answers = []
    body = b"".join(application(environ, lambda status, headers, exc_info=None: answers.append((status, headers))))
    status = int(answers[0][0].split()[0])
    assert status < 500 and dict(answers[0][1]).get("X-Error-Message"), (status, body)
