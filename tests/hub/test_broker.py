"""The embedded broker publishes a message file atomically: a consumer polling the folder while a
message is being written sees nothing, never a partial (empty) message that would kill it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from kombu import Connection
from kombu.transport.virtual.base import Empty

from hub.broker import Transport


def test_a_message_is_invisible_until_it_is_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folders = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path),
               "processed_folder": str(tmp_path / "done"), "store_processed": False}
    with Connection(transport=Transport, transport_options=folders) as conn:
        channel = conn.default_channel
        seen_while_writing: list[object] = []
        real_replace = os.replace

        def replace(src: str, dst: str) -> None:
            # A consumer polls between the write and the rename: the file must not be offered.
            assert Path(src).stat().st_size > 0
            try:
                seen_while_writing.append(channel._get("jobs"))
            except Empty:
                seen_while_writing.append(None)
            real_replace(src, dst)

        monkeypatch.setattr("hub.broker.os.replace", replace)
        channel._put("jobs", {"body": "x" * 10_000})
        assert seen_while_writing == [None]
        assert channel._get("jobs") == {"body": "x" * 10_000}
        assert not [p for p in tmp_path.iterdir() if p.is_file()]  # no temporary left behind


def test_the_filesystem_scheme_is_ours() -> None:
    from kombu.transport import resolve_transport

    import hub.celery  # noqa: F401 - registers the alias

    assert resolve_transport("filesystem") is Transport
