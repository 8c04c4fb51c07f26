"""The hub's WSGI handler: Django's, with a request that survives any Content-Type charset.

Django accepts every charset `codecs.lookup` knows, bz2_codec and rot13 included, and decodes
the query string with it while it builds the request - before any middleware runs - so
`Content-Type: application/json; charset=bz2_codec` was a 500 from the WSGI server. Here only
text encodings become the request's encoding, like unknown names already did not: the request
is read as UTF-8 (and JSON parsers refuse the charset themselves, 400).
"""
from __future__ import annotations

from typing import Any

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.utils.http import parse_header_parameters


def is_text_encoding(name: str) -> bool:
    """Whether `name` is an encoding of text (not a bytes-to-bytes codec, not unknown)."""
    try:
        "".encode(name)
    except (LookupError, UnicodeError, ValueError):
        return False
    return True


class HubWSGIRequest(WSGIRequest):
    def _set_content_type_params(self, meta: dict[str, Any]) -> None:
        self.content_type, self.content_params = parse_header_parameters(meta.get("CONTENT_TYPE", ""))
        charset = self.content_params.get("charset")
        if charset and is_text_encoding(charset):
            self.encoding = charset


class HubWSGIHandler(WSGIHandler):
    request_class = HubWSGIRequest
