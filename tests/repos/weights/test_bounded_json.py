import json

import pytest

from repos.weights.bounded_json import JsonRejected, brief_repr, loads_bounded, measure


@pytest.mark.parametrize(
    "text,depth,items,pairs",
    [
        (b"{}", 1, 1, 0),
        (b'{"a": [1, 2, {"b": []}]}', 4, 6, 2),  # 4 containers, 2 commas
        # Brackets, commas, colons and quotes inside strings do not count; escapes are followed.
        (b'{"[[[:": "]]],,,", "x\\"[": ["\\\\", "{"]}', 2, 4, 2),
        (b'{"a": "\\\\\\"]]]", "b": [[1]]}', 3, 4, 2),
        (b'["unterminated [[[', 1, 1, 0),
    ],
)
def test_measure_counts_structure_outside_strings(text: bytes, depth: int, items: int, pairs: int) -> None:
    assert measure(text) == (depth, items, pairs)


def test_measure_is_exact_across_block_boundaries() -> None:
    # Strings and nesting spanning the 1 MiB blocks of the scan.
    text = b'{"pad": "' + b"[" * (1 << 20) + b'", "deep": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert measure(text) == (41, 42, 2)
    assert len(loads_bounded(text, max_depth=41, max_items=100)["pad"]) == 1 << 20
    with pytest.raises(JsonRejected) as caught:
        loads_bounded(text, max_depth=40, max_items=100)
    assert caught.value.kind == "depth"


@pytest.mark.parametrize(
    "text,kind",
    [
        (b'{"a": \xff}', "encoding"),
        (b"{,}", "syntax"),
        (b'{"a": 1, "a": 2}', "duplicate"),
        (b'{"x": {"a": 1, "a": 2}}', "duplicate"),
        (b'[{"a": [{"k": 0, "k": 0}]}]', "duplicate"),
        (b"[" * 65 + b"]" * 65, "depth"),
        (b"[" + b"0," * 1000 + b"0]", "items"),
        (b'["' + b"\\n" * 20 + b'"]', "items"),
        (b"[" + b"9" * 5000 + b"]", "syntax"),
    ],
)
def test_rejections_are_typed(text: bytes, kind: str) -> None:
    with pytest.raises(JsonRejected) as caught:
        loads_bounded(text, max_depth=64, max_items=500, max_escapes=10)
    assert caught.value.kind == kind


def count_top_and_second_level(value: object) -> int:
    assert isinstance(value, dict)
    return len(value) + sum(len(v) for v in value.values() if isinstance(v, dict))


@pytest.mark.parametrize(
    "text,duplicate",
    [
        (b'{"a": {"x": 1}, "b": {"y": 2, "z": 3}}', False),
        (b'{"a": {"x": 1}, "a": {"y": 2}}', True),
        (b'{"a": {"x": 1, "x": 2}}', True),
        # Deeper objects are not counted: the count falls short, the checked parse decides.
        (b'{"a": {"x": {"k": 1}}}', False),
        (b'{"a": {"x": {"k": 1, "k": 2}}}', True),
        (b'{"a": [{"k": 1, "k": 2}]}', True),
    ],
)
def test_counted_pairs_never_hide_a_duplicate(text: bytes, duplicate: bool) -> None:
    if duplicate:
        with pytest.raises(JsonRejected) as caught:
            loads_bounded(text, max_depth=8, max_items=100, count_pairs=count_top_and_second_level)
        assert caught.value.kind == "duplicate"
    else:
        assert loads_bounded(text, max_depth=8, max_items=100, count_pairs=count_top_and_second_level) == json.loads(
            text
        )


def test_accepts_what_json_accepts_within_limits() -> None:
    value = {"a": [1, 2.5, None, True, "é\n\"x\""], "b": {"c": {}}}
    assert loads_bounded(json.dumps(value).encode(), max_depth=4, max_items=20) == value


def test_brief_repr_is_short() -> None:
    assert brief_repr("x" * 10_000).endswith("...") and len(brief_repr("x" * 10_000)) == 80
    assert brief_repr(list(range(100))) == "[100 items]"
    assert brief_repr([1, 2]) == "[1, 2]"
