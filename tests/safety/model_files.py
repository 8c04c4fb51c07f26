"""Hostile and benign model files for the ingest-path tests, built from the scanner corpus
(tests/safety/scanners/pickle_corpus.py): {path in repo: bytes}. Nothing here unpickles."""
from __future__ import annotations

import io

import numpy as np

from tests.safety.scanners.pickle_corpus import dumps, nested_in_bytes, payloads, replace_member, torch_zip


def hostile_files(canary: str) -> dict[str, bytes]:
    """Each file is flagged "unsafe": dangerous imports by extension and by content only."""
    p = payloads(canary)
    state = {"w": __import__("torch").zeros(2)}
    return {
        "os_system.pkl": dumps(p["os.system"], 4),
        "subprocess.bin": dumps(p["subprocess.Popen"], 2),
        "eval.pt": dumps(p["builtins.eval"], 0),  # protocol 0: no magic bytes at all
        "exec.pth": dumps(p["builtins.exec"], 5),
        "importlib.ckpt": dumps(p["builtins.getattr"], 3),
        "runpy.joblib": dumps(p["runpy._run_code"], 4),
        "nested.pkl": nested_in_bytes(canary),
        "weights.dat": dumps(p["os.system"], 1),  # a pickle under a name no scanner routes (not LFS)
        "torch_evil.pt": replace_member(torch_zip(state), "data.pkl", dumps(p["os.system"], 2)),
        "model.safetensors": dumps(p["subprocess.Popen"], 4),  # named safetensors, really a pickle
    }


def benign_files() -> dict[str, bytes]:
    """A torch checkpoint of a state dict and a safetensors file: both "safe"."""
    import torch
    from safetensors.numpy import save

    buf = io.BytesIO()
    torch.save({"layer.weight": torch.ones(2, 3), "layer.bias": torch.zeros(2)}, buf)
    return {"pytorch_model.bin": buf.getvalue(), "real.safetensors": save({"w": np.ones((2, 2), np.float32)})}
