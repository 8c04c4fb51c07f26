"""Model and dataset cards (README.md): YAML front matter, the index derived from it, and
safe Markdown rendering.

Front matter is located with the exact regex huggingface_hub uses (``repocard.py``) so that
the server and the client always agree on where the metadata ends and the card text begins.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import nh3
import yaml
from markdown_it import MarkdownIt

from repos.card_validation import metadata_errors, metadata_warnings
from repos.highlight import highlight_code

# huggingface_hub repocard.py REGEX_YAML_BLOCK; ``re.search`` with ``^`` and no MULTILINE
# only matches at the very start of the text (after optional whitespace).
FRONT_MATTER_RE = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")

# safe_load cannot execute code, but YAML anchors let a few hundred bytes describe a
# structure with billions of nodes (shared references), which explodes the moment it is
# serialized to JSON for the API. Real card metadata is a few hundred nodes.
MAX_FRONT_MATTER_NODES = 100_000


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str, str | None]:
    """Split a card into ``(metadata, body, error)``.

    - no front matter: ``(None, text, None)``
    - valid front matter: ``(mapping, body, None)``; an empty block gives ``{}`` (as the client)
    - invalid front matter: ``(None, body, message)``; the body is still usable for rendering
    """
    match = FRONT_MATTER_RE.search(text)
    if match is None:
        return None, text, None
    body = text[match.end() :]
    try:
        data = yaml.safe_load(match.group(2))
    except yaml.YAMLError as exc:
        return None, body, f"Invalid YAML in the card metadata: {_yaml_error_summary(exc)}"
    except RecursionError:
        return None, body, "Invalid YAML in the card metadata: nested too deeply"
    if data is None:
        return {}, body, None
    if not isinstance(data, dict):
        return None, body, "The card metadata (YAML front matter) must be a mapping"
    if not _within_node_budget(data, MAX_FRONT_MATTER_NODES):
        return None, body, "The card metadata is too large"
    return data, body, None


def validate_yaml_front_matter(text: str, repo_type: str = "model") -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` for ``/api/validate-yaml``: YAML syntax and shape, then the
    Hub's rules on known keys (`repos.card_validation`). Unknown keys and values the Hub
    accepts pass, or real cards would fail to upload."""
    data, _, error = split_front_matter(text)
    if error:
        return [error], []
    return metadata_errors(data or {}, repo_type), metadata_warnings(data)


@dataclass(frozen=True, slots=True)
class CardIndex:
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    library_name: str | None = None
    license: str | None = None


def card_index(card_data: dict[str, Any] | None, repo_type: str) -> CardIndex:
    """Searchable facets from card metadata, spelled like the Hub's ``tags`` list.

    Values are user-written YAML, so every field may be missing, a scalar where a list is
    expected or vice versa, or a non-string; anything unusable is skipped, never an error.
    """
    data = card_data or {}
    tags: list[str] = []
    tags.extend(_strings(data.get("tags")))
    licenses = _strings(data.get("license"))
    tags.extend(f"license:{x}" for x in licenses)
    # The Hub tags a model with the bare language code ("en": what `list_models(filter="en")`
    # and the 0.x client's `language="en"` ask for) and a dataset with "language:en".
    language_prefix = "language:" if repo_type == "dataset" else ""
    tags.extend(f"{language_prefix}{x}" for x in _strings(data.get("language")))
    tags.extend(f"dataset:{x}" for x in _strings(data.get("datasets")))
    tags.extend(f"base_model:{x}" for x in _strings(data.get("base_model")))
    if repo_type == "dataset":
        # Dataset cards carry their facets under these keys (the Hub's dataset tag prefixes).
        for key in ("task_categories", "task_ids", "size_categories"):
            tags.extend(f"{key}:{x}" for x in _strings(data.get(key)))
    library_name = _first(data.get("library_name"))
    if library_name:
        tags.append(library_name)
    # Only models have a pipeline; a dataset card's field of that name is ignored by the Hub.
    pipeline_tag = _first(data.get("pipeline_tag")) if repo_type != "dataset" else None
    if pipeline_tag:
        tags.append(pipeline_tag)
    return CardIndex(
        tags=_dedupe(tags),
        pipeline_tag=pipeline_tag,
        library_name=library_name,
        license=licenses[0] if licenses else None,
    )


# --- Search facets -----------------------------------------------------------------------

FACET_KINDS = ("task", "library", "license", "language", "size", "parameters")
# One facet value is a short label from the card; longer ones are not labels a person filters
# by, and a card listing hundreds of languages stays searchable by its first ones.
MAX_FACET_VALUE = 96
MAX_VALUES_PER_FACET = 50
# Storage-size buckets, decimal units like the rest of the site; (upper bound, label).
_SIZE_BUCKETS = ((10**7, "<10MB"), (10**8, "10MB-100MB"), (10**9, "100MB-1GB"), (10**10, "1GB-10GB"))
SIZE_ORDER = tuple(label for _, label in _SIZE_BUCKETS) + (">10GB",)
# Parameter-count buckets of a model's safetensors weights; (upper bound, label).
_PARAMETER_BUCKETS = ((10**8, "<100M"), (10**9, "100M-1B"), (10**10, "1B-10B"), (10**11, "10B-100B"))
PARAMETER_ORDER = tuple(label for _, label in _PARAMETER_BUCKETS) + (">100B",)


def parameter_bucket(parameters: int) -> str:
    """The parameter-count facet value of a model with `parameters` weights."""
    for bound, label in _PARAMETER_BUCKETS:
        if parameters < bound:
            return label
    return PARAMETER_ORDER[-1]


def size_bucket(used_storage: int) -> str:
    """The storage-size facet value of a repository holding `used_storage` bytes."""
    for bound, label in _SIZE_BUCKETS:
        if used_storage < bound:
            return label
    return SIZE_ORDER[-1]


def card_facets(card_data: dict[str, Any] | None, repo_type: str, used_storage: int,
                parameters: int = 0) -> dict[str, list[str]]:
    """The search facets of a repository: task, library, license, language, size and
    parameters, from its card metadata (same leniency as `card_index`), its storage size and
    the parameter count of its safetensors weights (0: unknown).

    A model's task is its pipeline tag, a dataset's its task categories; size is the storage
    bucket, plus a dataset card's row-count categories (`size_categories`, e.g. `1K<n<10K`).
    """
    data = card_data or {}
    index = card_index(data, repo_type)
    tasks = [index.pipeline_tag] if index.pipeline_tag else []
    sizes = [size_bucket(max(0, used_storage))]
    if repo_type == "dataset":
        tasks = _strings(data.get("task_categories"))
        sizes += _strings(data.get("size_categories"))
    facets = {
        "task": tasks,
        "library": [index.library_name] if index.library_name else [],
        "license": _strings(data.get("license")),
        "language": _strings(data.get("language")),
        "size": sizes,
        "parameters": [parameter_bucket(parameters)] if parameters > 0 else [],
    }
    return {kind: [v for v in _dedupe(values) if is_facet_value(v)][:MAX_VALUES_PER_FACET]
            for kind, values in facets.items()}


def is_facet_value(value: str) -> bool:
    """A label fit to be a facet value: short, without control characters (PostgreSQL refuses
    NUL in text, and no real label holds one)."""
    return 0 < len(value) <= MAX_FACET_VALUE and value.isprintable()


def _strings(value: object) -> list[str]:
    items: Iterable[object]
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        # Numbers and booleans are plausible (e.g. a tag "2024"); nested structures are not.
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            text = str(item).strip()
            if text:
                out.append(text)
    return out


def _first(value: object) -> str | None:
    values = _strings(value)
    return values[0] if values else None


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _within_node_budget(data: object, budget: int) -> bool:
    # Counts nodes as a JSON serializer would visit them (shared references counted every
    # time), stopping as soon as the budget is spent, so the check itself stays cheap even for
    # recursive or alias-exploded structures.
    remaining = budget
    stack: list[object] = [data]
    while stack:
        node = stack.pop()
        remaining -= 1
        if remaining < 0:
            return False
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return True


def _yaml_error_summary(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        # The mark is relative to the YAML block; +2 accounts for the opening "---" line
        # (close enough for a human; leading blank lines before it are rare).
        return f"{problem} (line {mark.line + 2}, column {mark.column + 1})"
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


# --- Markdown ---------------------------------------------------------------------------

# Raw HTML is enabled because real cards rely on it (centered logos, <details>, badges);
# safety comes from the sanitizer below, which sees the final HTML, not from the parser.
_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
_ALIGNABLE = {"div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "img"}
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
    # Only for the fenced-code language, filtered below; no free-form classes (they could
    # borrow the site's own CSS to fake UI such as login prompts).
    "code": {"class"},
}
for _tag in _ALIGNABLE:
    _ALLOWED_ATTRIBUTES.setdefault(_tag, set()).add("align")
_CODE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "code" and attribute == "class":
        return value if _CODE_CLASS_RE.fullmatch(value) else None
    if attribute == "align":
        return value if value.lower() in {"left", "center", "right", "justify"} else None
    return value


_cleaner = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    # Dropped with their content: the text of a script or style is never meant for readers.
    clean_content_tags={"script", "style"},
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    # Relative URLs pass (links within the repo); any other scheme, notably javascript:
    # and data:, is removed together with the attribute.
    url_schemes={"http", "https", "mailto"},
    link_rel="nofollow noopener",
    strip_comments=True,
)


# A fenced block with a language, as the sanitizer writes it (attributes double-quoted, the
# text escaped, so the block's text cannot contain "</code>").
_FENCED_RE = re.compile(r'<pre><code class="language-([A-Za-z0-9_+#.-]{1,40})">(.*?)</code></pre>', re.S)
# All highlighted blocks of one document together: past this, blocks stay plain (cheap).
MAX_HIGHLIGHTED_CHARS = 256 * 1024


def highlight_fenced_blocks(html: str) -> str:
    """Colour the fenced code blocks of sanitized HTML with Pygments, server-side.

    Runs *after* the sanitizer, on its output: the block's text is unescaped and handed to
    Pygments, which escapes every character again, and the only markup added is Pygments'
    own `<span class>` tokens. The sanitizer's allow-list stays free of classes users could
    borrow from the site's CSS.
    """
    budget = MAX_HIGHLIGHTED_CHARS

    def repl(m: re.Match[str]) -> str:
        nonlocal budget
        language, escaped = m.group(1), m.group(2)
        text = htmllib.unescape(escaped)
        budget -= len(text)
        if budget < 0:
            return m.group(0)
        return f'<pre class="highlight"><code class="language-{language}">{highlight_code(text, language)}</code></pre>'

    return _FENCED_RE.sub(repl, html)


def render_markdown(text: str) -> str:
    """Card body Markdown -> sanitized HTML with highlighted code blocks, safe to mark safe
    in a template. Pass the body from ``split_front_matter``; front matter is not stripped
    here."""
    return highlight_fenced_blocks(_cleaner.clean(_markdown.render(text)))
