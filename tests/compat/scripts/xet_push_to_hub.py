"""transformers `push_to_hub` of a tiny random BERT with Xet enabled, then `from_pretrained`
back through the CAS; compares every tensor. `python xet_push_to_hub.py CONFIG.json`
(`repo`, `work`)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from _harness import Recorder  # noqa: E402
from transformers import BertConfig, BertModel  # noqa: E402


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    rec = Recorder()
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=37))
    with rec.step("push_to_hub"):
        model.push_to_hub(cfg["repo"])
    with rec.step("from_pretrained"):
        loaded = BertModel.from_pretrained(cfg["repo"], cache_dir=cfg["work"] + "/cache")
        ref, got = model.state_dict(), loaded.state_dict()
        rec.out["unequal"] = sorted(k for k in ref if k not in got or not torch.equal(ref[k], got[k]))
        rec.out["num_tensors"] = len(ref)
    rec.finish()


if __name__ == "__main__":
    main()
