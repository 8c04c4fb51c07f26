"""Runs the real hf_xet client once, in its own process (``python hf_xet_client.py '<json>'``).

A separate process because hf_xet keeps a process-wide runtime and reads its cache location
from the environment at start: each run gets fresh ``HF_XET_CACHE``/``HF_HOME`` directories from
the test, so a cached shard can never hide a server bug. Prints one JSON line with the results.

Commands (``op``): ``upload`` (``paths``) -> ``[{"hash", "size", "sha256"}]``;
``download`` (``files``: ``[[hash, size, dest]]``) -> ``[]``.
"""

from __future__ import annotations

import json
import sys

import hf_xet


def main() -> None:
    cfg = json.loads(sys.argv[1])
    config = hf_xet.XetConfig().with_config(
        {
            "client.retry_max_attempts": 1,
            "telemetry.enabled": False,
            **cfg.get("config", {}),
        }
    )
    session = hf_xet.XetSession(config)
    common = {"endpoint": cfg["endpoint"], "token": cfg["token"], "token_expiry_unix_secs": cfg["exp"]}
    out: list[dict[str, object]] = []
    if cfg["op"] == "upload":
        with session.new_upload_commit(**common) as commit:
            handles = [commit.start_upload_file(p, sha256=hf_xet.COMPUTE_SHA256) for p in cfg["paths"]]
        for h in handles:
            info = h.result().xet_info
            out.append({"hash": info.hash, "size": info.file_size, "sha256": info.sha256})
    elif cfg["op"] == "download":
        with session.new_file_download_group(**common) as group:
            for file_hash, size, dest in cfg["files"]:
                group.start_download_file(hf_xet.XetFileInfo(file_hash, size), dest)
    else:
        raise SystemExit(f"unknown op {cfg['op']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
