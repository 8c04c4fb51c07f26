"""Secrets scanning: planted credentials are found at the right line and column, and no part
of any of them appears in the report."""

from __future__ import annotations

import base64
import io
import itertools
import json
import random
import string

import pytest

from safety.scanners.secrets import SecretScanLimits, SecretsScan, default_detectors, scan_text_for_secrets

_RNG = random.Random(12)


def _token(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


URLSAFE = string.ascii_letters + string.digits + "-_"
HUB_TOKEN = "hf_" + _token(URLSAFE, 43)  # accounts.tokens: "hf_" + token_urlsafe(32)
HF_TOKEN = "hf_" + _token(string.ascii_letters, 34)
AWS_KEY_ID = "AKIA" + _token(string.ascii_uppercase + string.digits, 16)
AWS_SECRET = _token(string.ascii_letters + string.digits + "/+", 40)
GITHUB = "ghp_" + _token(string.ascii_letters + string.digits, 36)
SLACK = "xoxb-" + _token(string.digits, 12) + "-" + _token(string.digits, 13) + "-" + _token(string.ascii_lowercase, 24)
STRIPE = "sk_live_" + _token(string.ascii_letters + string.digits, 24)
JWT = ".".join(base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
               for part in ({"alg": "HS256", "typ": "JWT"}, {"sub": "1234", "name": "x"})) + "." + _token(URLSAFE, 43)
UNDETECTED = _token(string.hexdigits.lower(), 40)  # a key no format-specific detector knows

CONFIG = f"""# training config
model: bert-base
push_to_hub: true
hub_token: {HUB_TOKEN}
HF_TOKEN="{HF_TOKEN}"
aws_access_key_id = {AWS_KEY_ID}
aws_secret_access_key = "{AWS_SECRET}"
github_token = {GITHUB}  # and a neighbour: {UNDETECTED}
slack_webhook_token: {SLACK}
stripe = {STRIPE}
auth: Bearer {JWT}
-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA{_token(string.ascii_letters + string.digits, 48)}
-----END RSA PRIVATE KEY-----
learning_rate: 0.0001
"""
PLANTED: dict[str, list[tuple[int, str | None]]] = {
    "Hugging Face Token": [(4, HUB_TOKEN), (5, HF_TOKEN)],
    "AWS Access Key": [(6, AWS_KEY_ID), (7, AWS_SECRET)],
    "GitHub Token": [(8, GITHUB)],
    "Slack Token": [(9, SLACK)],
    "Stripe Access Key": [(10, STRIPE)],
    "JSON Web Token": [(11, JWT)],
    "Private Key": [(12, None)],
}
ALL_SECRETS = [HUB_TOKEN, HF_TOKEN, AWS_KEY_ID, AWS_SECRET, GITHUB, SLACK, STRIPE, JWT, UNDETECTED]


def scan(text: str | bytes, **limits: object) -> SecretsScan:
    data = text.encode() if isinstance(text, str) else text
    return scan_text_for_secrets(io.BytesIO(data), limits=SecretScanLimits(**limits))  # type: ignore[arg-type]


def test_planted_secrets_are_found_where_they_are() -> None:
    result = scan(CONFIG)
    assert result.complete and result.stopped_by is None
    lines = CONFIG.splitlines()
    for kind, planted in PLANTED.items():
        for line, secret in planted:
            matches = [f for f in result.findings if f.type == kind and f.line == line]
            assert matches, (kind, line, result.findings)
            if secret is not None:
                assert any(lines[line - 1][f.column - 1:].startswith(secret) for f in matches), (kind, matches)
    reported_lines = {f.line for f in result.findings}
    assert reported_lines == {line for planted in PLANTED.values() for line, _ in planted}


def _leaks(report: str, secret: str) -> bool:
    """Whether any 8-character piece of `secret` past its 4-character prefix is in `report`."""
    return any(secret[i:i + 8] in report for i in range(4, len(secret) - 7))


def test_reports_never_contain_the_secrets() -> None:
    report = json.dumps(scan(CONFIG).as_dict())
    for secret in ALL_SECRETS:
        assert not _leaks(report, secret), secret
    finding = next(f for f in scan(CONFIG).findings if f.type == "GitHub Token")
    assert finding.masked.startswith("ghp_") and set(finding.masked[4:]) == {"*"}
    assert "github_token = ghp_" in finding.excerpt  # readable context, masked values


def test_no_network_and_no_global_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    def offline(*args: object, **kwargs: object) -> None:
        raise AssertionError("a secret was sent over the network for verification")

    monkeypatch.setattr(requests.Session, "request", offline)
    assert scan(CONFIG).found


def test_long_lines_are_windowed_and_a_boundary_secret_is_found_once() -> None:
    width, overlap = 1000, 100
    for offset in (0, 880, 890, 899, 900, 950, 1990, 5000):
        line = "x" * offset + " " + AWS_KEY_ID + " " + "y" * 3000
        result = scan("first line\n" + line + "\nlast\n", max_line_chars=width, window_overlap=overlap)
        hits = [f for f in result.findings if f.type == "AWS Access Key"]
        assert len(hits) == 1, (offset, hits)
        assert hits[0].line == 2 and hits[0].column == offset + 2


def test_huge_single_line_stays_bounded() -> None:
    data = ("a" * 3_000_000 + STRIPE + "b" * 10).encode()
    result = scan(data)
    assert [f.type for f in result.findings] == ["Stripe Access Key"]
    assert result.findings[0].column == 3_000_001


def test_binary_files_are_skipped() -> None:
    result = scan(b"\x00\x01\x02" + HUB_TOKEN.encode())
    assert not result.complete and result.stopped_by == "binary" and not result.findings


def test_limits() -> None:
    many = "\n".join(f"key{i} = {'AKIA' + _token(string.ascii_uppercase, 16)}" for i in range(50))
    capped = scan(many, max_findings=10)
    assert capped.stopped_by == "max_findings" and len(capped.findings) == 10
    big = ("filler line\n" * 100_000).encode()
    assert scan(big, max_bytes=100_000).stopped_by == "max_bytes"
    ticks = itertools.count()
    slow = scan_text_for_secrets(io.BytesIO(big), limits=SecretScanLimits(max_seconds=3), clock=lambda: next(ticks))
    assert slow.stopped_by == "max_seconds" and not slow.complete


def test_invalid_utf8_and_crlf() -> None:
    data = b"\xff\xfe garbage \xc3\x28\r\n" + f"token={HF_TOKEN}\r\n".encode()
    result = scan(data)
    assert [(f.type, f.line) for f in result.findings] == [("Hugging Face Token", 2)]


def test_heuristics_are_opt_in() -> None:
    text = 'checksum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"\n'
    assert not scan(text).findings
    noisy = scan_text_for_secrets(io.BytesIO(text.encode()), detectors=default_detectors(include_heuristics=True))
    assert noisy.findings


def test_hub_tokens_need_their_full_shape() -> None:
    assert not scan("see hf_hub_download and hf_transfer for details\n").findings
    assert not scan("prefix_hf_" + "a" * 40 + "\n").findings


def test_callers_can_act_on_the_secret_without_it_entering_the_report() -> None:
    """E.g. revoke a leaked hub token by its hash (SECURITY.md T55)."""
    seen: list[tuple[str, str]] = []
    result = scan_text_for_secrets(io.BytesIO(CONFIG.encode()), on_secret=lambda f, value: seen.append((f.type, value)))
    assert ("Hugging Face Token", HUB_TOKEN) in seen and ("Hugging Face Token", HF_TOKEN) in seen
    assert len(seen) == len(result.findings)
    assert not _leaks(json.dumps(result.as_dict()), HUB_TOKEN)
