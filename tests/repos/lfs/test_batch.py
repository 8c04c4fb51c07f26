import json
from typing import Any

import pytest

from repos.lfs.batch import (
    MAX_BATCH_OBJECTS,
    BatchError,
    BatchObject,
    LfsAction,
    batch_response,
    object_actions,
    object_error,
    parse_batch_request,
    select_transfer,
)

OID = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
OID2 = "b" * 64


def request(**overrides: Any) -> dict[str, Any]:
    # The exact shape huggingface_hub sends (HF_PROTOCOL.md 6.3).
    body: dict[str, Any] = {
        "operation": "upload",
        "transfers": ["basic", "multipart", "xet"],
        "objects": [{"oid": OID, "size": 1024}],
        "hash_algo": "sha256",
        "ref": {"name": "main"},
    }
    body.update(overrides)
    return body


def test_parses_huggingface_hub_upload_request() -> None:
    req = parse_batch_request(request())
    assert req.operation == "upload"
    assert req.objects == [BatchObject(OID, 1024)]
    [(oid, size)] = req.objects  # tuple-shaped for unpacking
    assert (oid, size) == (OID, 1024)
    assert req.transfers == ["basic", "multipart", "xet"]
    assert req.ref == "main"


def test_parses_git_lfs_download_request_without_optional_fields() -> None:
    req = parse_batch_request({"operation": "download", "objects": [{"oid": OID, "size": 0}]})
    assert req.operation == "download"
    assert req.transfers == ["basic"]
    assert req.ref is None


def test_create_pr_request_has_no_ref() -> None:
    body = request()
    del body["ref"]
    assert parse_batch_request(body).ref is None


def test_exact_duplicates_are_collapsed_in_order() -> None:
    objs = [{"oid": OID2, "size": 1}, {"oid": OID, "size": 2}, {"oid": OID2, "size": 1}]
    assert parse_batch_request(request(objects=objs)).objects == [BatchObject(OID2, 1), BatchObject(OID, 2)]


@pytest.mark.parametrize(
    "body,code,fragment",
    [
        ([], 422, "JSON object"),
        (request(operation="delete"), 422, "unknown operation"),
        (request(operation=None), 422, "unknown operation"),
        (request(objects=None), 422, "objects must be a list"),
        (request(objects=[OID]), 422, "objects[0] must be an object"),
        (request(objects=[{"oid": OID.upper(), "size": 1}]), 422, "invalid oid"),
        (request(objects=[{"oid": "../x", "size": 1}]), 422, "invalid oid"),
        (request(objects=[{"size": 1}]), 422, "invalid oid"),
        (request(objects=[{"oid": OID, "size": -1}]), 422, "invalid size"),
        (request(objects=[{"oid": OID, "size": "1024"}]), 422, "invalid size"),
        (request(objects=[{"oid": OID, "size": 1024.0}]), 422, "invalid size"),
        (request(objects=[{"oid": OID, "size": True}]), 422, "invalid size"),
        (request(objects=[{"oid": OID}]), 422, "invalid size"),
        (request(transfers="basic"), 422, "transfers"),
        (request(transfers=["basic", 3]), 422, "transfers"),
        (request(ref="main"), 422, "ref"),
        (request(ref={"name": 1}), 422, "ref"),
        (request(hash_algo="md5"), 409, "hash"),
        (request(objects=[{"oid": OID, "size": i} for i in range(MAX_BATCH_OBJECTS + 1)]), 413, "too many"),
    ],
)
def test_malformed_requests(body: Any, code: int, fragment: str) -> None:
    with pytest.raises(BatchError) as info:
        parse_batch_request(body)
    assert info.value.code == code
    assert fragment in info.value.message


def test_exactly_the_limit_is_accepted() -> None:
    objs = [{"oid": OID, "size": i} for i in range(MAX_BATCH_OBJECTS)]
    assert len(parse_batch_request(request(objects=objs)).objects) == MAX_BATCH_OBJECTS


def test_transfer_selection_xet_only_when_offered() -> None:
    assert select_transfer(["basic", "multipart", "xet"], offered=("xet", "basic")) == "xet"
    assert select_transfer(["basic", "multipart"], offered=("xet", "basic")) == "basic"
    assert select_transfer(["xet"]) == "basic"
    assert select_transfer(["xet", "basic"]) == "basic"
    assert select_transfer(["multipart", "basic"]) == "basic"  # not offered by default
    assert select_transfer(["multipart", "basic"], offered=("basic", "multipart", "xet")) == "basic"
    assert select_transfer(["multipart"], offered=("multipart",)) == "multipart"
    assert select_transfer([], offered=("multipart", "xet")) == "basic"


def test_upload_object_shape() -> None:
    obj = object_actions(
        OID,
        1024,
        upload=LfsAction("https://hub.example/lfs-upload/x?sig=1", expires_in=3600),
        verify=LfsAction("https://hub.example/acme/m.git/info/lfs/objects/verify", header={"Authorization": "Basic x"}),
    )
    assert obj == {
        "oid": OID,
        "size": 1024,
        "authenticated": True,
        "actions": {
            "upload": {"href": "https://hub.example/lfs-upload/x?sig=1", "expires_in": 3600},
            "verify": {
                "href": "https://hub.example/acme/m.git/info/lfs/objects/verify",
                "header": {"Authorization": "Basic x"},
            },
        },
    }


def test_already_present_object_has_no_actions() -> None:
    # huggingface_hub skips objects whose "actions" is absent.
    assert object_actions(OID, 10) == {"oid": OID, "size": 10}


def test_object_error_shape() -> None:
    err = object_error(OID, 5, 404, "Object does not exist")
    assert err == {"oid": OID, "size": 5, "error": {"code": 404, "message": "Object does not exist"}}


def test_batch_response_is_json() -> None:
    body = batch_response([object_actions(OID, 10), object_error(OID2, 1, 422, "Size mismatch")])
    assert json.loads(json.dumps(body)) == {
        "transfer": "basic",
        "objects": [
            {"oid": OID, "size": 10},
            {"oid": OID2, "size": 1, "error": {"code": 422, "message": "Size mismatch"}},
        ],
        "hash_algo": "sha256",
    }
    assert batch_response([], transfer="multipart")["transfer"] == "multipart"
    assert batch_response([], transfer="xet")["transfer"] == "xet"
    with pytest.raises(ValueError):
        batch_response([], transfer="ssh")
