"""The published OpenAPI schema (hub/http/openapi.py): every client route of the URL resolver
is in it, it is valid OpenAPI 3, and it is served with a browsable page."""
from __future__ import annotations

import re

import pytest
from drf_spectacular.validation import validate_schema

from hub.http.openapi import HubSchemaGenerator, is_client_route, iter_routes, route_paths

pytestmark = pytest.mark.django_db

HOW_TO = """
Every route that clients call (/api/..., git, LFS, /resolve/, Xet) must be in the OpenAPI schema
(hub/http/openapi.py). For each route above:
  * a DRF APIView is documented automatically (refine it with drf_spectacular's @extend_schema);
  * a plain view decorated with hub.http.api.api_view is documented automatically;
  * any other plain view: decorate it with @hub.http.openapi.document("GET", "POST", ...) naming its
    methods (style="git"/"lfs" for those error styles, responses={"200": json_schema} when you can).
Named groups of the route regex become path parameters; optional groups expand into paths."""


@pytest.fixture(scope="module")
def schema():
    return HubSchemaGenerator().get_schema(request=None, public=True)


def test_every_client_route_is_in_the_schema(schema):
    missing = []
    for route in iter_routes():
        if not is_client_route(route):
            continue
        view = getattr(route.callback, "__module__", "?") + "." + getattr(route.callback, "__name__", "?")
        for path, _params in route_paths(route.regex):
            if path not in schema["paths"]:
                missing.append(f"  {path}  (route {route.regex!r}, view {view})")
    assert not missing, "routes missing from the OpenAPI schema:\n" + "\n".join(missing) + HOW_TO


def test_every_path_parameter_is_declared(schema):
    for path, item in schema["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method.upper()} {path}: {declared} != {names}"
            assert "4XX" in operation["responses"], f"{method.upper()} {path} documents no error answer"


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    operation_ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    # HF-compatible and our own endpoints alike.
    for path in ("/api/{plural}/{namespace}/{name}", "/api/{plural}/{namespace}/{name}/commit/{rev}",
                 "/api/validate-yaml", "/api/whoami-v2", "/{namespace}/{name}/resolve/{remainder}",
                 "/{namespace}/{name}/info/refs", "/{namespace}/{name}.git/info/lfs/objects/batch",
                 "/api/{plural}/{namespace}/{name}/discussions/{num}/merge-status", "/api/schema"):
        assert path in schema["paths"], path


@pytest.mark.parametrize("url", ["/api/schema", "/.well-known/openapi.json"])
def test_the_schema_is_served(client, url, schema):
    r = client.get(url)
    assert r.status_code == 200 and r["Content-Type"].startswith("application/")
    served = r.json()
    assert served["info"]["title"] == "ModelHub API"
    assert set(served["paths"]) == set(schema["paths"])


def test_the_reference_page(client, schema):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/html")
    page = r.content.decode()
    assert "<script" not in page.split("</header>", 1)[-1].split("<footer", 1)[0]  # rendered, not scripted
    for path in ("/api/{plural}/{namespace}/{name}/commit/{rev}", "/api/validate-yaml"):
        assert f"<code>{path}</code>" in page
