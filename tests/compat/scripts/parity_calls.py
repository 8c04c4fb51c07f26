"""The client calls of issue 14's first list, through the real huggingface_hub client (run by
both the newest and the 0.x client; a call a version lacks is recorded as missing).

Run as `python parity_calls.py CONFIG.json` with HF_ENDPOINT/HF_TOKEN (alice) in the
environment; CONFIG holds `owner`, `bob`, `bob_token`, `suffix` and `work`. Prints one
`COMPAT-RESULT: {...}` line (see _harness.py).
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import huggingface_hub  # noqa: E402
from _harness import Recorder  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402


def main() -> None:
    config = json.loads(open(sys.argv[1]).read())
    owner, suffix = config["owner"], config["suffix"]
    api = HfApi()
    rec = Recorder()
    out = rec.out
    out["client_version"] = huggingface_hub.__version__
    model = f"{owner}/parity-{suffix}"

    with rec.step("setup"):
        api.create_repo(model)
        api.upload_file(path_or_fileobj=b'{"model_type": "bert"}\n', path_in_repo="config.json", repo_id=model)

    with rec.step("exists"):
        out["exists"] = {
            "namespaceless_repo": api.repo_exists("no-such-repo"),
            "namespaceless_dataset": api.repo_exists("no-such-repo", repo_type="dataset"),
            "namespaceless_file": api.file_exists("no-such-repo", "config.json"),
            "missing_repo": api.repo_exists(f"{owner}/no-such-repo-{suffix}"),
            "repo": api.repo_exists(model),
            "file": api.file_exists(model, "config.json"),
            "missing_file": api.file_exists(model, "nope.json"),
        }

    with rec.step("request_id"):
        try:
            api.model_info(f"{owner}/no-such-repo-{suffix}")
        except Exception as exc:  # noqa: BLE001 - the message is what the test looks at
            response = getattr(exc, "response", None)
            out["request_id"] = {"message": str(exc),
                                 "header": response.headers.get("X-Request-Id") if response is not None else None}

    rec.finish()


if __name__ == "__main__":
    main()
