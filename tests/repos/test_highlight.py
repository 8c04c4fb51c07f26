"""The generated Pygments stylesheet matches the formatter settings the views use."""
from __future__ import annotations

from pathlib import Path

from repos.highlight import MAX_LEXED_BYTES, highlight, lexer_for, stylesheet

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "pygments.css"


def test_static_stylesheet_is_up_to_date():
    assert CSS.read_text() == stylesheet(), "run: .venv/bin/python -m repos.highlight > static/css/pygments.css"


def test_highlight_escapes_and_uses_classes():
    html = highlight("x = '<script>'\n", "a.py")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'class="highlight"' in html and "style=" not in html


def test_lexer_choice_is_by_name_and_bounded():
    assert lexer_for("train.py", 10).name == "Python"
    assert lexer_for("config.json", 10).name == "JSON"
    assert lexer_for("unknown.zzz", 10).name == "Text only"
    assert lexer_for("huge.py", MAX_LEXED_BYTES + 1).name == "Text only"


def test_human_count():
    from repos.links import human_count

    assert [human_count(n) for n in (40, 1234, 18_788, 124_439_808, 7_000_000_000)] == \
        ["40", "1.23K", "18.8K", "124M", "7B"]
