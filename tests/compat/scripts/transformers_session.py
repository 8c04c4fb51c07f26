"""transformers + huggingface_hub driven step by step: one JSON command per stdin line, one
`COMPAT-RESULT: {...}` line per command on stdout (so the test can read the hub's access log
between steps while torch and transformers are imported only once).

Commands:
  {"op": "push", "repo", "work"}   build a tiny BERT (random init) and a WordPiece tokenizer,
                                   save_pretrained, push v1 then v2 (other weights, same tokenizer)
  {"op": "load", "repo", "revision", "reference", "cache_dir"}
                                   AutoModelForMaskedLM / AutoTokenizer.from_pretrained from the hub,
                                   compared with the original saved in `reference`
  {"op": "quit"}
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from _harness import Recorder  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402
from transformers import AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM, BertTokenizerFast  # noqa: E402

WORDS = ["hello", "world", "the", "tiny", "model", "hub", "load", "##s", "##ed", "!"]
TEXT = "hello tiny world [MASK] models loaded!"
# The state dicts of the models this process built, by save directory: the very tensors that
# were pushed, to compare loads with (besides the files save_pretrained wrote).
BUILT: dict[str, dict[str, torch.Tensor]] = {}


def vocab() -> list[str]:
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    return tokens + [f"tok{i}" for i in range(99 - len(tokens))]


def save_version(directory: Path, seed: int, vocab_file: Path) -> None:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37)
    model = BertForMaskedLM(config)
    model.save_pretrained(directory)
    BUILT[str(directory)] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # transformers 5 takes the WordPiece vocabulary as `vocab` (a path or a dict); its old
    # `vocab_file=` keyword is silently ignored and gives an empty vocabulary.
    BertTokenizerFast(vocab=str(vocab_file)).save_pretrained(directory)


def push(rec: Recorder, cmd: dict) -> None:
    repo, work = cmd["repo"], Path(cmd["work"])
    work.mkdir(parents=True, exist_ok=True)
    vocab_file = work / "vocab.txt"
    vocab_file.write_text("\n".join(vocab()) + "\n")
    api = HfApi()
    with rec.step("push"):
        api.create_repo(repo, exist_ok=True)
        for version, seed in (("v1", 0), ("v2", 1)):
            directory = work / version
            save_version(directory, seed, vocab_file)
            info = api.upload_folder(folder_path=str(directory), repo_id=repo, commit_message=f"Upload {version}")
            rec.out[version] = {"sha": info.oid, "dir": str(directory),
                                "files": sorted(p.name for p in directory.iterdir())}
        rec.out["head"] = api.model_info(repo).sha
        rec.out["v2_commit_files"] = sorted(
            f.path for f in api.list_repo_tree(repo, revision=rec.out["v2"]["sha"]) if type(f).__name__ == "RepoFile")


def cache_state(cache_dir: Path) -> dict:
    """Blobs (inode, mtime), `refs/<revision>` files (what the hub resolved each branch to)
    and snapshot directories (one per commit files were fetched for)."""
    return {
        "blobs": {p.name: [p.stat().st_ino, p.stat().st_mtime_ns] for p in cache_dir.glob("models--*/blobs/*")},
        "refs": {p.name: p.read_text().strip() for p in cache_dir.glob("models--*/refs/*")},
        "snapshots": sorted(p.name for p in cache_dir.glob("models--*/snapshots/*")),
    }


def load(rec: Recorder, cmd: dict) -> None:
    repo, revision, cache_dir = cmd["repo"], cmd["revision"], Path(cmd["cache_dir"])
    with rec.step("load"):
        model = AutoModelForMaskedLM.from_pretrained(repo, revision=revision, cache_dir=cache_dir)
        tokenizer = AutoTokenizer.from_pretrained(repo, revision=revision, cache_dir=cache_dir)
        original = AutoModelForMaskedLM.from_pretrained(cmd["reference"])
        original_tokenizer = AutoTokenizer.from_pretrained(cmd["reference"])
        hub_state, ref_state = model.state_dict(), original.state_dict()
        rec.out["model_class"] = type(model).__name__
        rec.out["tokenizer_class"] = type(tokenizer).__name__
        rec.out["same_keys"] = sorted(hub_state) == sorted(ref_state)
        rec.out["unequal_tensors"] = sorted(
            k for k in ref_state if k not in hub_state or not torch.equal(hub_state[k], ref_state[k]))
        rec.out["num_tensors"] = len(ref_state)
        if (built := BUILT.get(cmd["reference"])) is not None:
            rec.out["unequal_to_built"] = sorted(
                k for k in built if k not in hub_state or not torch.equal(hub_state[k], built[k]))
        rec.out["ids"] = tokenizer(TEXT)["input_ids"]
        rec.out["reference_ids"] = original_tokenizer(TEXT)["input_ids"]
        rec.out["tokens"] = tokenizer.convert_ids_to_tokens(rec.out["ids"])
        rec.out["weight_checksum"] = float(sum(t.double().sum() for t in hub_state.values()))
    rec.out["cache"] = cache_state(cache_dir)


def main() -> None:
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            return
        rec = Recorder()
        {"push": push, "load": load}[cmd["op"]](rec, cmd)
        rec.finish()


if __name__ == "__main__":
    main()
