import time
from html.parser import HTMLParser

import pytest
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from pygments.token import STANDARD_TYPES

from repos.card_validation import EMPTY_METADATA_WARNING
from repos.cards import (
    FRONT_MATTER_RE,
    MAX_HIGHLIGHTED_CHARS,
    CardIndex,
    card_index,
    render_markdown,
    split_front_matter,
    validate_yaml_front_matter,
)

CARD = """---
license: apache-2.0
language:
- en
- fr
tags:
- text-classification
- bert
datasets: imdb
base_model: google-bert/bert-base-uncased
library_name: transformers
pipeline_tag: text-classification
---

# Tiny BERT

Fine-tuned on IMDB.
"""


def test_same_regex_as_huggingface_hub() -> None:
    assert FRONT_MATTER_RE.pattern == REGEX_YAML_BLOCK.pattern


def test_split_valid_card() -> None:
    data, body, error = split_front_matter(CARD)
    assert error is None
    assert data is not None and data["license"] == "apache-2.0" and data["language"] == ["en", "fr"]
    assert body == "\n# Tiny BERT\n\nFine-tuned on IMDB.\n"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("# Just text\n", (None, "# Just text\n", None)),
        ("", (None, "", None)),
        ("---\n\n---\nbody", ({}, "body", None)),  # empty block
        ("---\n---\nbody", (None, "---\n---\nbody", None)),  # the client's regex needs a line
        ("\n\n---\na: 1\n---\nbody", ({"a": 1}, "body", None)),  # leading blank lines
        ("---\r\na: 1\r\n---\r\nbody", ({"a": 1}, "body", None)),  # CRLF
        ("---\na: 1\n---  \nbody", ({"a": 1}, "body", None)),  # trailing blanks after fence
        ("---\na: 1\n---", ({"a": 1}, "", None)),  # fence at end of text
        ("---\na: 1\n", (None, "---\na: 1\n", None)),  # unterminated: no front matter
        ("text\n---\na: 1\n---\n", (None, "text\n---\na: 1\n---\n", None)),  # not at start
    ],
)
def test_split_edge_cases(text: str, expected: tuple[object, str, object]) -> None:
    assert split_front_matter(text) == expected


def test_split_reports_invalid_yaml_and_keeps_body() -> None:
    data, body, error = split_front_matter("---\nlicense: [mit\n---\n# Body\n")
    assert data is None and body == "# Body\n"
    assert error is not None and "Invalid YAML" in error and "line" in error


def test_split_rejects_non_mapping() -> None:
    data, _, error = split_front_matter("---\n- a\n- b\n---\nbody")
    assert data is None and error is not None and "mapping" in error


def test_yaml_is_loaded_safely() -> None:
    _, _, error = split_front_matter("---\nx: !!python/object/apply:os.system ['echo pwned']\n---\n")
    assert error is not None


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    start = time.perf_counter()
    data, _, error = split_front_matter("---\n" + "\n".join(lines) + "\n---\n")
    assert data is None and error == "The card metadata is too large"
    assert time.perf_counter() - start < 1.0


def test_validate_yaml_front_matter() -> None:
    assert validate_yaml_front_matter(CARD) == ([], [])
    assert validate_yaml_front_matter("no metadata at all") == ([], [EMPTY_METADATA_WARNING])
    assert validate_yaml_front_matter("---\n---\n# Empty block") == ([], [EMPTY_METADATA_WARNING])
    assert validate_yaml_front_matter("---\nunknown_key: {x: [1, 2]}\n---\n") == ([], [])
    [error], _ = validate_yaml_front_matter("---\na: b: c\n---\n")
    assert "Invalid YAML" in error
    assert validate_yaml_front_matter("---\njust a string\n---\n")[0] != []


@pytest.mark.parametrize("meta", ["license: asdf", "license: [mit, nope]", "license: 3", "model-index: foo",
                                  "model-index: [foo]", "model-index: [{name: x}]",
                                  "model-index: [{name: x, results: [{task: {type: t}}]}]", "tags: {a: b}",
                                  "pipeline_tag: [a, b]", "datasets: [1, 2]"])
def test_the_hubs_rules_refuse(meta: str) -> None:
    errors, _ = validate_yaml_front_matter(f"---\n{meta}\n---\n")
    assert errors and all(isinstance(e, str) and e for e in errors)


@pytest.mark.parametrize("meta", ["license: MIT", "license: [apache-2.0, other]", "license: other\nlicense_name: x",
                                  "model-index: []", "tags: text", "language: [en, fr]", "base_model: a/b",
                                  "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
                                  "    dataset: {type: imdb, name: IMDB}\n    metrics: [{type: accuracy, value: 0.9}]"])
def test_the_hubs_rules_accept(meta: str) -> None:
    assert validate_yaml_front_matter(f"---\n{meta}\n---\n") == ([], [])


def test_model_index_is_a_model_rule() -> None:
    assert validate_yaml_front_matter("---\nmodel-index: foo\n---\n", "dataset") == ([], [])


def test_card_index_model() -> None:
    data, _, _ = split_front_matter(CARD)
    index = card_index(data, "model")
    assert index == CardIndex(
        tags=[
            "text-classification",
            "bert",
            "license:apache-2.0",
            "en",
            "fr",
            "dataset:imdb",
            "base_model:google-bert/bert-base-uncased",
            "transformers",
        ],
        pipeline_tag="text-classification",
        library_name="transformers",
        license="apache-2.0",
    )


def test_card_index_tags_languages_like_the_hub() -> None:
    """Bare codes on models (`list_models(filter="en")`), prefixed on datasets."""
    assert card_index({"language": ["en", "fr"]}, "model").tags == ["en", "fr"]
    assert card_index({"language": "en"}, "dataset").tags == ["language:en"]


def test_card_index_tolerates_messy_values() -> None:
    index = card_index(
        {
            "tags": "single-tag",
            "license": ["mit", "apache-2.0"],
            "language": [None, "de", {"nested": 1}, 42, ""],
            "datasets": [" squad ", True],
            "base_model": ["a/b", "c/d"],
            "library_name": ["peft"],
            "pipeline_tag": {"bad": 1},
        },
        "model",
    )
    assert index.tags == [
        "single-tag",
        "license:mit",
        "license:apache-2.0",
        "de",
        "42",
        "dataset:squad",
        "base_model:a/b",
        "base_model:c/d",
        "peft",
    ]
    assert index.license == "mit"
    assert index.library_name == "peft"
    assert index.pipeline_tag is None


def test_card_index_dataset_and_empty() -> None:
    index = card_index(
        {
            "license": "cc-by-4.0",
            "task_categories": ["text-classification"],
            "size_categories": "1K<n<10K",
            "pipeline_tag": "ignored-for-datasets",
            "tags": ["license:cc-by-4.0"],  # duplicates of derived tags are collapsed
        },
        "dataset",
    )
    assert index.tags == ["license:cc-by-4.0", "task_categories:text-classification", "size_categories:1K<n<10K"]
    assert index.pipeline_tag is None
    assert card_index(None, "model") == CardIndex(tags=[], pipeline_tag=None, library_name=None, license=None)


def test_markdown_features() -> None:
    html = render_markdown(
        "# Title\n\n| a | b |\n|---|:-:|\n| ~~old~~ | `x<y` |\n\n```python\nprint('hi')\n```\n\n"
        "[docs](https://example.com/d) ![logo](./logo.png) ![ext](https://example.com/i.png)\n\n"
        '<p align="center"><img src="https://example.com/banner.png" width="200"></p>\n\n'
        "<details><summary>More</summary>\n\nHidden *text*\n\n</details>\n"
    )
    assert "<h1>Title</h1>" in html
    assert "<table>" in html and "<th>a</th>" in html
    assert "<s>old</s>" in html
    assert "<code>x&lt;y</code>" in html
    assert '<pre class="highlight"><code class="language-python"><span class="nb">print</span>' in html
    assert '<a href="https://example.com/d" rel="nofollow noopener">docs</a>' in html
    assert '<img src="./logo.png" alt="logo">' in html
    assert '<img src="https://example.com/i.png" alt="ext">' in html
    assert '<p align="center"><img src="https://example.com/banner.png" width="200"></p>' in html
    assert "<details><summary>More</summary>" in html and "<em>text</em>" in html


def test_fenced_code_is_highlighted_after_sanitizing() -> None:
    # The block's text goes through Pygments, which escapes it again: markup inside a code block
    # stays text, whatever it tries to close.
    html = render_markdown('```python\nx = "</code></pre><script>alert(1)</script>"\n```\n')
    assert '<span class="n">x</span>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("</pre>") == 1
    # Unknown languages keep their class and stay plain text; blocks without a language too.
    html = render_markdown("```nosuchlang\na <b>\n```\n\n```\nplain\n```\n")
    assert '<code class="language-nosuchlang">a &lt;b&gt;\n</code>' in html
    assert "<pre><code>plain\n</code></pre>" in html


def test_highlighting_is_bounded_per_document() -> None:
    block = "```python\n" + "x = 1\n" * (MAX_HIGHLIGHTED_CHARS // 6 // 2 + 1) + "```\n\n"
    html = render_markdown(block * 3)
    # The first blocks are coloured, the one past the budget stays plain (cheap), all are shown.
    assert html.count('<pre class="highlight">') == 1
    assert html.count("<pre>") == 2


XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    '<img src="javascript:alert(1)">',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="https://ok.example" onclick="alert(1)" onmouseover="alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "<style>body { display: none }</style>",
    '<div style="position:fixed;top:0">overlay</div>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<object data="evil.swf"></object><embed src="evil.swf">',
    '<form action="https://evil.example"><input name="password"></form>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<div class="login-modal" id="csrf_token">x</div>',
    '<code class="x language-py">y</code>',
    '<p align="center" onfocus="alert(1)" autofocus tabindex=1>x</p>',
    "<!-- <script>alert(1)</script> -->",
]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


PYGMENTS_CLASSES = set(STANDARD_TYPES.values())
SAFE_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "details", "div", "em", "h1", "h2", "h3", "hr", "i",
    "img", "li", "ol", "p", "pre", "s", "span", "strong", "summary", "table", "tbody", "td", "th",
    "thead", "tr", "ul", "mark", "math", "mtext", "mglyph",
}  # fmt: skip


@pytest.mark.parametrize("payload", XSS)
def test_xss_payloads_are_neutralised(payload: str) -> None:
    html = render_markdown(f"Intro\n\n{payload}\n\nOutro {payload}\n")
    collector = _Collector()
    collector.feed(html)
    assert collector.comments == []
    for tag, attrs in collector.tags:
        assert tag in SAFE_TAGS - {"math", "mtext", "mglyph"}, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert name not in {"style", "id", "autofocus", "tabindex", "target", "action"}, html
            if name == "class":
                # Only the fence's language and the highlighter's own token classes.
                assert ((tag == "code" and (value or "").startswith("language-"))
                        or (tag == "pre" and value == "highlight")
                        or (tag == "span" and value in PYGMENTS_CLASSES)), html
            if name in {"href", "src"}:
                scheme = (value or "").split(":", 1)[0].strip().lower() if ":" in (value or "") else ""
                assert scheme in {"", "http", "https", "mailto"}, html


def test_links_always_get_rel() -> None:
    html = render_markdown('<a href="/x" rel="opener" target="_blank">x</a> [y](https://e.example)')
    assert html.count('rel="nofollow noopener"') == 2
    assert 'opener"' not in html.replace('rel="nofollow noopener"', "")
    assert "target" not in html
