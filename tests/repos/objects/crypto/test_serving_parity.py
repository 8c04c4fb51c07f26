"""An encrypted object served through the hub's one byte-serving helper answers exactly as the
plain file does (status, Content-Length, Content-Range, ETag, body) for full, ranged, resumed
and unsatisfiable requests, and a WSGI server would not sendfile it. This is the wiring the
byte door will use: ``opener=lambda: open_plaintext(...)``, ``size`` = the plaintext size."""
from __future__ import annotations

import hashlib
import io
import random

import pytest
from django.test import RequestFactory
from gunicorn.http.wsgi import FileWrapper
from gunicorn.util import has_fileno

from repos.objects.crypto.format import encrypt_stream, open_plaintext
from repos.objects.crypto.keys import generate_data_key
from repos.transport import serving
from repos.transport.read_ahead import BLOCK_SIZE, ReadAhead

# response.close() sends request_finished, whose receiver checks the database connections.
pytestmark = pytest.mark.django_db

# More than two blocks of the server's read-ahead, which serves objects with no descriptor.
DATA = random.Random(3).randbytes(2 * BLOCK_SIZE + 200_000)
OID = hashlib.sha256(DATA).hexdigest()
KEY = generate_data_key()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("objects")
    plain, sealed = root / "plain", root / "sealed"
    plain.write_bytes(DATA)
    with open(sealed, "wb") as out:
        encrypt_stream(io.BytesIO(DATA), out, data_key=KEY, oid=OID, size=len(DATA))
    return plain, sealed


def _serve(path, headers):
    request = RequestFactory().get("/x/resolve/main/model.bin", headers=headers)
    response = serving.serve_blob(request, size=len(DATA), etag=OID, filename="model.bin",
                                  opener=lambda: open_plaintext(path, oid=OID, key_for=lambda _id: KEY))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    keep = ("Content-Length", "Content-Range", "ETag", "Accept-Ranges", "X-Linked-Size")
    return response.status_code, {k: response.get(k) for k in keep}, body


@pytest.mark.parametrize(
    "headers",
    [{}, {"Range": "bytes=0-0"}, {"Range": "bytes=100-70000"}, {"Range": "bytes=-700"}, {"Range": "bytes=65536-"},
     {"Range": f"bytes={BLOCK_SIZE - 5}-{2 * BLOCK_SIZE + 5}"}, {"Range": f"bytes={len(DATA) - 1}-{len(DATA) + 9}"},
     {"Range": f"bytes={len(DATA)}-"}, {"Range": "bytes=5-10", "If-Range": '"other"'},
     {"Range": "bytes=5-10", "If-Range": f'"{OID}"'}],
)
def test_encrypted_object_is_served_exactly_like_the_plain_file(files, headers):
    plain, sealed = files
    expected = _serve(plain, headers)
    assert _serve(sealed, headers) == expected
    status, response_headers, body = expected
    if status == 200:
        assert body == DATA
    elif status == 206:
        first, last = map(int, response_headers["Content-Range"].split()[1].split("/")[0].split("-"))
        assert body == DATA[first:last + 1]
    else:
        assert status == 416


def test_a_wsgi_server_finds_no_file_descriptor_to_sendfile(files):
    plain, sealed = files
    with open_plaintext(sealed, oid=OID, key_for=lambda _id: KEY) as f:
        assert not has_fileno(f)
        assert not has_fileno(serving._BoundedReader(f, 10))
        assert not has_fileno(ReadAhead(f, 10))
    with open_plaintext(plain, oid=OID, key_for=lambda _id: KEY) as f:
        assert has_fileno(f)


@pytest.mark.parametrize(("which", "read_ahead"), [("sealed", True), ("plain", False)])
def test_only_bodies_without_a_descriptor_are_read_ahead_and_gunicorn_streams_them_whole(files, which, read_ahead):
    path = dict(zip(("plain", "sealed"), files, strict=True))[which]
    request = RequestFactory().get("/x/resolve/main/model.bin", headers={"Range": "bytes=3-"})
    response = serving.serve_blob(request, size=len(DATA), etag=OID, filename="model.bin",
                                  opener=lambda: open_plaintext(path, oid=OID, key_for=lambda _id: KEY))
    try:
        assert isinstance(response.file_to_stream, ReadAhead) is read_ahead
        # What gunicorn does with a body it cannot sendfile: read(block_size) until b"".
        assert b"".join(FileWrapper(response.file_to_stream, response.block_size)) == DATA[3:]
    finally:
        response.close()
