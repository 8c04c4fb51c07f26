"""The JSON scalar walker against `json.loads` (values, paths) and the text (spans)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.tabular.json_tokens import JsonSyntaxError, JsonTooDeep, tokens

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


def _leaves(value: object, path: str | None = None) -> list[tuple[str, object]]:
    """The expected (path, value) pairs; `path` None is the root (written "$"), kept apart from
    a key that is itself "$" (hypothesis found that one)."""
    def join(parent: str | None, part: str) -> str:
        return part if parent is None else (parent + part if part == "[]" else f"{parent}.{part}")

    if isinstance(value, dict):
        out: list[tuple[str, object]] = []
        for key, item in value.items():
            out.append(("{}" if path is None else f"{path}.{{}}", key))
            out.extend(_leaves(item, join(path, key)))
        return out
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item, join(path, "[]"))]
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [("$" if path is None else path, value)]
    return []


@settings(max_examples=300, deadline=None)
@given(value=_json, ensure_ascii=st.booleans(), indent=st.sampled_from([None, 2]))
def test_scalars_match_json_loads(value: object, ensure_ascii: bool, indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)
    found = list(tokens(text))
    assert [(t.path, json.loads(text[t.start:t.end])) for t in found] == _leaves(value)
    for t in found:
        assert json.loads(text[t.start:t.end]) == (t.value if t.is_string else json.loads(t.value))


def test_depth_is_bounded_without_recursion() -> None:
    with pytest.raises(JsonTooDeep):
        list(tokens("[" * 200_000 + "]" * 200_000, max_depth=64))


def test_syntax_errors_are_typed() -> None:
    """The walker is lenient about grammar (callers confirm with json.loads), strict about what
    it cannot tokenise."""
    for bad in ('{"a": nope}', ']', '"unterminated', '{"a": 1}}'):
        with pytest.raises(JsonSyntaxError):
            list(tokens(bad))
