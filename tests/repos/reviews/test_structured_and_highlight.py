"""Key-level changes of configs and card metadata; diff lines highlighted per language."""
from __future__ import annotations

from repos.highlight import highlight_lines
from repos.reviews.selectors.structured import _compare, _front_matter, _json


def test_config_key_changes():
    old = _json('{"hidden_size": 768, "layers": {"n": 12}, "gone": true}')
    new = _json('{"hidden_size": 1024, "layers": {"n": 12, "act": "gelu"}}')
    keys, truncated = _compare(old, new)
    assert [(k.key, k.status, k.old, k.new) for k in keys] == [
        ("gone", "removed", "true", ""), ("hidden_size", "changed", "768", "1024"),
        ("layers.act", "added", "", '"gelu"')]
    assert truncated is False
    assert _json("[1, 2]") is None and _json("{not json") is None and _json('{"a": ' * 100 + "1" + "}" * 100) is None


def test_card_front_matter_keys():
    old = _front_matter("---\nlicense: mit\ntags: [a]\n---\n# card\n")
    new = _front_matter("---\nlicense: apache-2.0\ntags: [a]\n---\n# card\n")
    keys, _ = _compare(old, new)
    assert [(k.key, k.old, k.new) for k in keys] == [("license", '"mit"', '"apache-2.0"')]


def test_highlighted_lines_stay_one_per_line_and_escaped():
    lines = ["", 'x = "<b>"', "def f():", "    '''doc", "    still doc'''", ""]
    html = highlight_lines(lines, "a.py")
    assert html is not None and len(html) == len(lines)
    assert "&lt;b&gt;" in html[1] and "<b>" not in html[1]
    assert 'class="sd"' in html[4]  # the docstring's second line keeps its colour
    assert highlight_lines(["plain"], "notes.unknownext") is None
