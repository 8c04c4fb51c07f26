from __future__ import annotations

import json

from repos.xet.shard_progress import committing_frame, error_frame, result_frame, validating_frame


def test_frames_are_single_json_lines_the_client_understands() -> None:
    frames = [validating_frame(verified=1, total=3), committing_frame("syncing"), result_frame()]
    assert all(f.endswith(b"\n") and f.count(b"\n") == 1 for f in frames)
    assert [json.loads(f) for f in frames] == [
        {"type": "validating", "verified": 1, "total": 3},
        {"type": "committing", "stage": "syncing"},
        {"type": "result"},
    ]


def test_error_frame_is_bounded_and_single_line() -> None:
    frame = error_frame("bad\nshard " + "x" * 10_000, retryable=False)
    assert frame.count(b"\n") == 1 and len(frame) < 5000
    data = json.loads(frame)
    assert data["type"] == "error" and data["retryable"] is False and data["message"].startswith("bad\nshard")
