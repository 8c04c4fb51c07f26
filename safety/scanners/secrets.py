"""Find credentials in text files: API keys, private keys, tokens (hub `hf_...`, AWS, GitHub,
Slack, Stripe...), streamed line by line.

Detection is detect-secrets' format-specific plugins plus our own for Hugging Face / hub tokens
(detect-secrets has none). The plugins are called directly (`analyze_string`), not through
detect-secrets' global settings and `scan_line`: that path is process-global state (not
thread-safe) and can *verify* secrets over the network, which we never want. The noisy
heuristics (high-entropy strings, "password = ..." keywords) are opt-in.

Reports never carry a secret: each finding has its type, 1-based line and column, the secret
masked to a recognisable prefix, and an excerpt of the line in which every detected secret and
every other token-like run is masked.

Bounds: bytes, seconds and findings (`SecretScanLimits`); lines longer than `max_line_chars`
are scanned in overlapping windows so one 2 GB line costs one window of memory. A file whose
first bytes contain NUL is skipped as binary.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector

from safety.budget import Budget, Clock, LimitExceeded
from safety.masking import mask_long_tokens, mask_secret

_CHUNK = 1 << 16
_BINARY_SNIFF = 8192
_EXCERPT_CONTEXT = 40
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+/=")


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class HubTokenDetector(RegexBasedDetector):
    """Hugging Face user/org tokens (`hf_` + 34 letters, `api_org_` + 34 letters) and this
    hub's own tokens (`hf_` + 43 url-safe characters, see accounts/tokens.py)."""

    secret_type = "Hugging Face Token"
    denylist = (
        re.compile(r"(?<![A-Za-z0-9_-])(hf_[A-Za-z0-9_-]{30,64})(?![A-Za-z0-9_-])"),
        re.compile(r"(?<![A-Za-z0-9_-])(api_org_[A-Za-z]{34})(?![A-Za-z0-9_-])"),
    )


_NOISY = {"Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword", "Public IP (ipv4)"}


def default_detectors(*, include_heuristics: bool = False) -> tuple[BasePlugin, ...]:
    """Every format-specific detect-secrets plugin plus `HubTokenDetector`; with
    `include_heuristics`, also entropy and keyword plugins (many false positives on model
    repos, which are full of hashes)."""
    detectors: list[BasePlugin] = [HubTokenDetector()]
    mapping: Mapping[str, type[BasePlugin]] = get_mapping_from_secret_type_to_class()
    for secret_type, plugin_class in sorted(mapping.items()):
        if secret_type == "Public IP (ipv4)":
            continue  # personal data, not a credential: see scanners.personal_data
        if secret_type in _NOISY and not include_heuristics:
            continue
        detectors.append(plugin_class())
    return tuple(detectors)


@dataclass(frozen=True)
class SecretScanLimits:
    max_bytes: int = 64 << 20
    max_seconds: float = 60.0
    max_findings: int = 500
    max_line_chars: int = 16_384  # longer lines are scanned in overlapping windows
    window_overlap: int = 512  # longer than any secret format we detect


@dataclass(frozen=True)
class SecretFinding:
    type: str
    line: int  # 1-based
    column: int  # 1-based, in characters
    masked: str
    excerpt: str

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "line": self.line, "column": self.column, "masked": self.masked,
                "excerpt": self.excerpt}


@dataclass(frozen=True)
class SecretsScan:
    findings: tuple[SecretFinding, ...]
    lines_scanned: int
    bytes_scanned: int
    complete: bool
    stopped_by: str | None = None  # "binary", a limit name, or "error: ..."

    @property
    def found(self) -> bool:
        return bool(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"findings": [f.as_dict() for f in self.findings], "linesScanned": self.lines_scanned,
                "bytesScanned": self.bytes_scanned, "complete": self.complete, "stoppedBy": self.stopped_by}


def scan_text_for_secrets(fileobj: Readable, *, limits: SecretScanLimits = SecretScanLimits(),
                          detectors: Sequence[BasePlugin] | None = None,
                          on_secret: Callable[[SecretFinding, str], None] | None = None,
                          clock: Clock = time.monotonic) -> SecretsScan:
    """Scan a binary stream (decoded as UTF-8, invalid bytes replaced) for secrets.

    `on_secret(finding, value)` receives each new finding with the secret itself, the one
    place it leaves this module: for a caller that must act on it right away (revoke a leaked
    hub token by its hash) without the value ever entering a report.
    """
    budget = Budget(max_bytes=limits.max_bytes, max_seconds=limits.max_seconds, clock=clock)
    plugins = tuple(detectors) if detectors is not None else _DEFAULT
    findings: dict[tuple[str, int, int], SecretFinding] = {}
    lines = 0
    stopped_by: str | None = None
    try:
        for line_no, column0, text in _segments(fileobj, budget, limits):
            lines = line_no
            for finding, value in _scan_segment(text, line_no, column0, plugins):
                key = (finding.type, finding.line, finding.column)
                if key in findings:
                    continue  # seen in the overlap of the previous window
                if len(findings) >= limits.max_findings:
                    raise LimitExceeded("max_findings", f"more than {limits.max_findings} secrets")
                findings[key] = finding
                if on_secret is not None:
                    on_secret(finding, value)
    except _Binary:
        stopped_by = "binary"
    except LimitExceeded as exc:
        stopped_by = exc.limit
    except Exception as exc:  # noqa: BLE001 - a scan failure is a result, never an exception
        stopped_by = f"error: {type(exc).__name__}"
    ordered = tuple(sorted(findings.values(), key=lambda f: (f.line, f.column, f.type)))
    return SecretsScan(findings=ordered, lines_scanned=lines, bytes_scanned=budget.bytes_used,
                       complete=stopped_by is None, stopped_by=stopped_by)


_DEFAULT = default_detectors()


class _Binary(Exception):
    pass


def _segments(fileobj: Readable, budget: Budget, limits: SecretScanLimits) -> Iterator[tuple[int, int, str]]:
    """(line number, column offset of the segment, text) for every line, long lines split into
    windows of `max_line_chars` overlapping by `window_overlap`."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    width = limits.max_line_chars
    step = max(width - limits.window_overlap, 1)
    pending = ""
    column0 = 0
    line_no = 1
    first = True
    while True:
        raw = fileobj.read(_CHUNK)
        if raw:
            budget.charge(len(raw))
            if first and b"\x00" in raw[:_BINARY_SNIFF]:
                raise _Binary
            first = False
        pending += decoder.decode(raw, final=not raw)
        pos = 0
        while True:
            newline = pending.find("\n", pos, pos + width + 1)
            if newline >= 0:
                yield line_no, column0, pending[pos:newline]
                pos = newline + 1
                line_no += 1
                column0 = 0
            elif len(pending) - pos > width:
                # A long line: scan a window and keep the overlap, so a secret cut by the
                # boundary is seen whole in the next window.
                yield line_no, column0, pending[pos:pos + width]
                pos += step
                column0 += step
            else:
                break
        pending = pending[pos:]
        if not raw:
            if pending:
                yield line_no, column0, pending
            return


def _scan_segment(text: str, line_no: int, column0: int,
                  plugins: Sequence[BasePlugin]) -> list[tuple[SecretFinding, str]]:
    spans = sorted({(start, _extend(text, end), str(plugin.secret_type))
                    for plugin in plugins for start, end in _spans(plugin, text)})
    if not spans:
        return []
    masked_line, positions = _mask_spans(text, spans)
    found = []
    for (start, end, kind), masked_at in zip(spans, positions, strict=True):
        masked = mask_secret(text[start:end])
        lo = max(masked_at - _EXCERPT_CONTEXT, 0)
        excerpt = masked_line[lo:masked_at + len(masked) + _EXCERPT_CONTEXT]
        found.append((SecretFinding(type=kind, line=line_no, column=column0 + start + 1, masked=masked,
                                    excerpt=_CONTROL.sub(" ", excerpt).strip()), text[start:end]))
    return found


def _extend(text: str, end: int) -> int:
    """Grow a span that ends inside a token to the token's end: some detector regexes stop
    early (detect-secrets' JWT pattern leaves out the signature), and what we mask must cover
    the whole credential."""
    if end == 0 or text[end - 1] not in _TOKEN_CHARS:
        return end
    while end < len(text) and text[end] in _TOKEN_CHARS:
        end += 1
    return end


def _spans(plugin: BasePlugin, text: str) -> Iterator[tuple[int, int]]:
    """Where a plugin's secrets are in `text`.

    detect-secrets plugins only yield secret *values* (and for some formats only a captured
    prefix, e.g. GitHub's "ghp"), so regex plugins are re-run here with `finditer`: the first
    group when it is a plausible secret (the 40-character AWS secret after its keyword), else
    the whole match. Plugins that filter their matches (JWT validity) still decide which count.
    """
    if isinstance(plugin, RegexBasedDetector):
        custom = type(plugin).analyze_string is not RegexBasedDetector.analyze_string
        allowed = set(plugin.analyze_string(text)) if custom else None
        for regex in plugin.denylist:
            for match in regex.finditer(text):
                group = 1 if regex.groups and match.group(1) and len(match.group(1)) >= 8 else 0
                start, end = match.span(group)
                if allowed is not None and text[start:end] not in allowed and match.group(0) not in allowed:
                    continue
                if end > start:
                    yield start, end
        return
    for secret in set(plugin.analyze_string(text)):
        start = text.find(secret) if secret else -1
        while start >= 0:
            yield start, start + len(secret)
            start = text.find(secret, start + 1)


def _mask_spans(text: str, spans: list[tuple[int, int, str]]) -> tuple[str, list[int]]:
    """The text with every span masked (overlapping spans merged) and the remaining token-like
    runs masked too; plus where each span starts in the masked text."""
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    pieces: list[str] = []
    positions = [0] * len(spans)
    cursor = 0
    out_len = 0
    for i in order:
        start, end, _ = spans[i]
        if start < cursor:  # overlaps the previous span, already masked
            positions[i] = max(out_len - 1, 0)
            continue
        plain = mask_long_tokens(text[cursor:start])
        pieces.append(plain)
        out_len += len(plain)
        positions[i] = out_len
        masked = mask_secret(text[start:end])
        pieces.append(masked)
        out_len += len(masked)
        cursor = end
    pieces.append(mask_long_tokens(text[cursor:]))
    return "".join(pieces), positions
