"""Tiny models, tokenizers and datasets built on the spot (nothing is downloaded).

A word-level tokenizer over a 20-word vocabulary and a one-layer BERT with hidden size 32:
small enough to train to a useful accuracy in about a second on one CPU core, real enough to
go through the same transformers code paths as a published checkpoint.

The synthetic language: a sentence is a few filler words plus sentiment words. Positive
words make a text "pos", negative ones "neg"; for regression the target is
(#positive - #negative); for token classification each word is tagged POS/NEG/O.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
POSITIVE = ["good", "great"]
NEGATIVE = ["bad", "awful"]
FILLER = ["the", "movie", "was", "plot", "acting", "film", "really", "very", "and", "it", "a", "story"]
VOCAB = SPECIALS + POSITIVE + NEGATIVE + FILLER
CLASS_LABELS = ["neg", "pos"]
TOKEN_LABELS = ["O", "POS", "NEG"]


def write_tokenizer(directory: Path, *, tokenizer_config: dict[str, Any] | None = None) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    config = {
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "model_max_length": 64,
    }
    config.update(tokenizer_config or {})
    (directory / "tokenizer_config.json").write_text(json.dumps(config))


def bert_config(*, task: str, **overrides: Any) -> Any:
    from transformers import BertConfig

    kwargs: dict[str, Any] = dict(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=len(VOCAB),
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=0,
    )
    if task == "regression":
        kwargs.update(num_labels=1, problem_type="regression")
    elif task == "token-classification":
        kwargs.update(id2label=dict(enumerate(TOKEN_LABELS)), label2id={k: i for i, k in enumerate(TOKEN_LABELS)})
    else:
        kwargs.update(id2label=dict(enumerate(CLASS_LABELS)), label2id={k: i for i, k in enumerate(CLASS_LABELS)})
    kwargs.update(overrides)
    return BertConfig(**kwargs)


def model_class(task: str) -> Any:
    from transformers import BertForSequenceClassification, BertForTokenClassification

    return BertForTokenClassification if task == "token-classification" else BertForSequenceClassification


def sentence(rng: random.Random, *, n_pos: int, n_neg: int) -> list[str]:
    words = [rng.choice(FILLER) for _ in range(rng.randint(2, 6))]
    for w in [rng.choice(POSITIVE) for _ in range(n_pos)] + [rng.choice(NEGATIVE) for _ in range(n_neg)]:
        words.insert(rng.randint(0, len(words)), w)
    return words


def classification_rows(n: int, *, seed: int, noise: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Rows with text, label (name), dialect; ``noise[group]`` flips that share of labels."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = rng.random() < 0.5
        words = sentence(rng, n_pos=1 if positive else 0, n_neg=0 if positive else 1)
        group = "north" if i % 3 else "south"
        label = "pos" if positive else "neg"
        if noise and rng.random() < noise.get(group, 0.0):
            label = "neg" if positive else "pos"
        rows.append({"text": " ".join(words), "label": label, "dialect": group})
    return rows


def regression_rows(n: int, *, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        n_pos, n_neg = rng.randint(0, 2), rng.randint(0, 2)
        rows.append(
            {
                "text": " ".join(sentence(rng, n_pos=n_pos, n_neg=n_neg)),
                "score": float(n_pos - n_neg),
                "dialect": "north" if i % 2 else "south",
            }
        )
    return rows


def token_rows(n: int, *, seed: int, noise: float = 0.0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = sentence(rng, n_pos=rng.randint(0, 2), n_neg=rng.randint(0, 1))
        tags = ["POS" if w in POSITIVE else "NEG" if w in NEGATIVE else "O" for w in words]
        tags = [rng.choice(TOKEN_LABELS) if rng.random() < noise else t for t in tags]
        rows.append({"tokens": words, "tags": tags, "dialect": "north" if i % 2 else "south"})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def encode_labels(task: str, values: list[Any]) -> Any:
    import torch

    if task == "regression":
        return torch.tensor(values, dtype=torch.float32)
    return torch.tensor([CLASS_LABELS.index(v) for v in values])


def train_quickly(
    model: Any, tokenizer: Any, task: str, rows: list[dict[str, Any]], *, steps: int | None = None, lr: float = 5e-3
) -> None:
    """A plain fp32 loop, independent of jobs.runners.finetune, to make an evaluable model."""
    import torch

    torch.manual_seed(0)
    steps = steps if steps is not None else (80 if task == "regression" else 40)  # counting is harder
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    rng = random.Random(0)
    for _ in range(steps):
        batch = rng.sample(rows, 16)
        if task == "token-classification":
            enc = tokenizer([r["tokens"] for r in batch], is_split_into_words=True, padding=True, return_tensors="pt")
            labels = torch.full(enc["input_ids"].shape, -100)
            for j, r in enumerate(batch):
                for pos, w in enumerate(enc.word_ids(j)):
                    if w is not None:
                        labels[j, pos] = TOKEN_LABELS.index(r["tags"][w])
        else:
            enc = tokenizer([r["text"] for r in batch], padding=True, return_tensors="pt")
            key = "score" if task == "regression" else "label"
            labels = encode_labels(task, [r[key] for r in batch])
        loss = model(**enc, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()


def fast_tokenizer(directory: Path) -> Any:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(directory / "tokenizer.json")),
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )


def make_model_dir(directory: Path, *, task: str, train_rows: list[dict[str, Any]] | None = None, seed: int = 0) -> Any:
    """Write a tiny model (trained on ``train_rows`` if given) with its tokenizer; returns it."""
    import torch

    write_tokenizer(directory)
    torch.manual_seed(seed)
    model = model_class(task)(bert_config(task=task))
    if train_rows is not None:
        train_quickly(model, fast_tokenizer(directory), task, train_rows)
    model.save_pretrained(str(directory))
    return model
