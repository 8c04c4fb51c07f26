"""Opening a model snapshot without running anything it contains.

PyTorch's own security policy says "models are programs". We only load what is data:

* weights: safetensors only (``model.safetensors`` or a ``model.safetensors.index.json`` with
  its shards). Pickle-based files (``pytorch_model.bin``, ``*.pt``, ``*.ckpt``, ...) are never
  opened; a snapshot that has nothing else is refused with an ``UnsafeModelError``.
* config: ``config.json`` parsed by us first (size-bounded), then refused if it points at
  code or at other files: ``auto_map`` / ``custom_pipelines`` (remote code),
  ``transformers_weights`` (makes transformers load an arbitrary file name, pickle included),
  ``quantization_config`` (pulls in kernels and third-party loaders), an
  ``attn_implementation`` other than eager/sdpa (hub kernels are code). ``model_type`` must
  be one transformers ships. ``trust_remote_code`` is always False.
* size: every dimension-like integer of the config is capped, and the parameter count is
  measured on the meta device (no memory) before anything is allocated (SECURITY.md T51).
* tokenizer: ``tokenizer.json`` through the Rust ``tokenizers`` library, wrapped in
  ``PreTrainedTokenizerFast``; ``tokenizer_config.json`` is read only for special tokens and
  the max length. A custom ``tokenizer_class`` or an ``auto_map`` is refused, and so is a chat
  template (``chat_template`` key, ``chat_template.jinja``/``.json``,
  ``additional_chat_templates/``): templates are Jinja programs (RCE history in SECURITY.md
  a3) and a classification runner has no use for them, so we refuse rather than carry them.

Every refusal happens before transformers sees the directory.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.runners.base import ResourceLimitError, RunnerError, UnsafeModelError
from jobs.runners.model_index import TaskType

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast

SAFE_WEIGHTS = "model.safetensors"
SAFE_WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill", ".h5", ".msgpack")
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
REFUSED_CONFIG_KEYS = {
    "auto_map": "it asks for custom code (auto_map); remote code is never run here",
    "custom_pipelines": "it asks for custom pipeline code; remote code is never run here",
    "transformers_weights": "it names its own weights file (transformers_weights), which could be a pickle",
    "quantization_config": "quantized checkpoints need third-party loaders and kernels, which are not supported",
}
SAFE_ATTENTION = (None, "eager", "sdpa")
SPECIAL_TOKEN_KEYS = (
    "pad_token",
    "unk_token",
    "cls_token",
    "sep_token",
    "mask_token",
    "bos_token",
    "eos_token",
)
# Config keys that size tensors: capped before the model is even built on the meta device.
_DIMENSION_KEY_RE = re.compile(
    r"(_size|_dim|_dims|vocab_size|embeddings|positions|n_embd|n_inner|n_positions|n_ctx|d_model|d_ff|num_labels)$"
)
_LAYER_KEY_RE = re.compile(r"^(num_hidden_layers|num_layers|n_layer|n_layers|num_attention_heads|n_head|n_heads)$")


@dataclass(frozen=True, slots=True)
class ModelLimits:
    max_config_bytes: int = 1024**2
    max_tokenizer_bytes: int = 64 * 1024**2
    max_tokenizer_config_bytes: int = 1024**2
    max_weight_bytes: int = 16 * 1024**3
    max_parameters: int = 2_000_000_000
    max_dimension: int = 1 << 22  # any size-like config integer
    max_layers: int = 512  # layers and heads
    max_vocab: int = 2_000_000
    max_labels: int = 10_000
    max_length: int = 8192


def _read_json(path: Path, limit: int, what: str) -> dict[str, Any]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise RunnerError(f"The model has no {what}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeModelError(f"The model's {what} is not a regular file (links are refused)")
    if st.st_size > limit:
        raise ResourceLimitError(f"The model's {what} is larger than {limit} bytes")
    try:
        data = json.loads(path.read_bytes())
    except RecursionError:
        raise RunnerError(f"The model's {what} nests too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunnerError(f"The model's {what} is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise RunnerError(f"The model's {what} must be a JSON object")
    return data


def read_config(model_dir: Path, limits: ModelLimits = ModelLimits()) -> dict[str, Any]:
    """The checked ``config.json`` as a dict (see the module docstring for the rules)."""
    config = _read_json(model_dir / "config.json", limits.max_config_bytes, "config.json")
    for key, why in REFUSED_CONFIG_KEYS.items():
        if key in config:
            raise UnsafeModelError(f"The model's config.json is refused: {why}")
    for key in ("attn_implementation", "_attn_implementation"):
        if config.get(key) not in SAFE_ATTENTION:
            raise UnsafeModelError(
                f"The model's config.json asks for attention implementation {str(config.get(key))[:80]!r}; "
                "only eager and sdpa are allowed (others load kernels from the Hub)"
            )
    model_type = config.get("model_type")
    from transformers import CONFIG_MAPPING

    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        raise UnsafeModelError(
            f"The model's config.json has model_type {str(model_type)[:80]!r}, which transformers does not ship; "
            "custom model types need remote code, which is never run here"
        )
    for key, value in config.items():
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if _LAYER_KEY_RE.match(key) and value > limits.max_layers:
            raise ResourceLimitError(f"The model's config.json sets {key}={value} (limit {limits.max_layers})")
        if _DIMENSION_KEY_RE.search(key) and value > limits.max_dimension:
            raise ResourceLimitError(f"The model's config.json sets {key}={value} (limit {limits.max_dimension})")
    for key in ("id2label", "label2id"):
        labels = config.get(key)
        if labels is not None and (not isinstance(labels, dict) or len(labels) > limits.max_labels):
            raise RunnerError(f"The model's config.json has a malformed or too large {key}")
    return config


def build_config(config: dict[str, Any], **overrides: Any) -> PretrainedConfig:
    """A transformers config object from a dict checked by ``read_config``; attention is pinned
    to implementations that ship with torch."""
    from transformers import CONFIG_MAPPING

    data = {k: v for k, v in config.items() if k not in ("attn_implementation", "_attn_implementation")}
    data.update(overrides)
    cls = CONFIG_MAPPING[data["model_type"]]
    try:
        return cls.from_dict(data)
    except (TypeError, ValueError, KeyError) as exc:
        raise RunnerError(f"The model's config.json is not valid for {data['model_type']}: {str(exc)[:200]}") from None


def weight_files(model_dir: Path, limits: ModelLimits = ModelLimits()) -> list[str]:
    """Names of the safetensors files to load, or a clear refusal. Pickle files next to
    safetensors are ignored (many real repos carry both); alone they are refused."""
    entries = {}
    with os.scandir(model_dir) as it:
        for entry in it:
            entries[entry.name] = entry.stat(follow_symlinks=False)
    if SAFE_WEIGHTS in entries:
        names = [SAFE_WEIGHTS]
    elif SAFE_WEIGHTS_INDEX in entries:
        index = _read_json(model_dir / SAFE_WEIGHTS_INDEX, 16 * 1024**2, SAFE_WEIGHTS_INDEX)
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise RunnerError(f"The model's {SAFE_WEIGHTS_INDEX} has no weight_map")
        names = sorted({str(v) for v in weight_map.values()})
        for name in names:
            if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".safetensors"):
                raise UnsafeModelError(f"The model's {SAFE_WEIGHTS_INDEX} names {name[:80]!r}, not a safetensors shard")
            if name not in entries:
                raise RunnerError(f"The model's {SAFE_WEIGHTS_INDEX} names a missing shard {name!r}")
    else:
        pickles = sorted(n for n in entries if n.lower().endswith(PICKLE_SUFFIXES))
        if pickles:
            raise UnsafeModelError(
                f"The model has only pickle-based weights ({', '.join(pickles[:5])}). Loading a pickle can run "
                "arbitrary code, so they are never loaded here; convert the weights to safetensors"
            )
        raise RunnerError("The model has no weights (model.safetensors)")
    total = 0
    for name in names:
        st = entries[name]
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeModelError(f"The model's {name} is not a regular file (links are refused)")
        total += st.st_size
    if total > limits.max_weight_bytes:
        raise ResourceLimitError(f"The model's weights are larger than {limits.max_weight_bytes} bytes")
    return names


def _auto_class(task: TaskType) -> Any:
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    return AutoModelForTokenClassification if task == "token-classification" else AutoModelForSequenceClassification


def count_parameters(config: PretrainedConfig, task: TaskType) -> int:
    """Parameters of the model ``config`` describes, measured on the meta device (shapes only,
    no memory), so an absurd config is refused before anything is allocated."""
    import torch

    with torch.device("meta"):
        try:
            model = _auto_class(task).from_config(config)
        except (ValueError, KeyError) as exc:
            raise RunnerError(f"This model architecture cannot do {task}: {str(exc)[:200]}") from None
    return sum(p.numel() for p in model.parameters())


def load_model(
    model_dir: Path,
    *,
    task: TaskType,
    config: PretrainedConfig,
    limits: ModelLimits = ModelLimits(),
    require_head: bool,
) -> PreTrainedModel:
    """The model in fp32 on CPU (move it afterwards). ``require_head``: evaluation refuses a
    checkpoint whose task head is missing (it would measure random weights); fine-tuning
    accepts it (the head is trained)."""
    weight_files(model_dir, limits)
    n_params = count_parameters(config, task)
    if n_params > limits.max_parameters:
        raise ResourceLimitError(f"The model has {n_params} parameters (limit {limits.max_parameters})")
    import torch

    try:
        model, info = _auto_class(task).from_pretrained(
            str(model_dir),
            config=config,
            use_safetensors=True,
            trust_remote_code=False,
            local_files_only=True,
            dtype=torch.float32,
            output_loading_info=True,
            ignore_mismatched_sizes=not require_head,
        )
    except MemoryError:
        raise
    except Exception as exc:  # safetensors, torch and transformers each raise their own types
        raise RunnerError(f"The model's weights could not be loaded: {str(exc)[:300]}") from None
    missing = [k for k in info.get("missing_keys", ()) if not k.endswith("position_ids")]
    mismatched = info.get("mismatched_keys", ())
    if require_head and (missing or mismatched):
        shown = ", ".join(list(missing)[:5]) or ", ".join(str(m[0]) for m in list(mismatched)[:5])
        raise RunnerError(
            f"The checkpoint lacks trained weights for {task} ({shown}); evaluating it would measure random weights"
        )
    model.eval()
    return model


def load_tokenizer(
    model_dir: Path, *, config: dict[str, Any], limits: ModelLimits = ModelLimits()
) -> PreTrainedTokenizerFast:
    for name in CHAT_TEMPLATE_FILES + ("additional_chat_templates",):
        if os.path.lexists(model_dir / name):
            raise UnsafeModelError(
                f"The model carries a chat template ({name}). Chat templates are Jinja programs; this runner never "
                "renders them and refuses models that carry one"
            )
    tok_config: dict[str, Any] = {}
    if os.path.lexists(model_dir / "tokenizer_config.json"):
        tok_config = _read_json(
            model_dir / "tokenizer_config.json", limits.max_tokenizer_config_bytes, "tokenizer_config.json"
        )
    if "auto_map" in tok_config:
        raise UnsafeModelError(
            "The model's tokenizer_config.json asks for custom code (auto_map); it is never run here"
        )
    if tok_config.get("chat_template"):
        raise UnsafeModelError(
            "The model's tokenizer_config.json carries a chat template. Chat templates are Jinja programs; this "
            "runner never renders them and refuses models that carry one"
        )
    tokenizer_class = tok_config.get("tokenizer_class")
    if tokenizer_class is not None and not _is_builtin_tokenizer_class(tokenizer_class):
        raise UnsafeModelError(
            f"The model's tokenizer_config.json names a custom tokenizer class {str(tokenizer_class)[:80]!r}; "
            "only tokenizer.json with the library's own classes is supported"
        )
    special: dict[str, Any] = {}
    if os.path.lexists(model_dir / "special_tokens_map.json"):
        special.update(
            _read_json(
                model_dir / "special_tokens_map.json", limits.max_tokenizer_config_bytes, "special_tokens_map.json"
            )
        )
    special.update({k: tok_config[k] for k in SPECIAL_TOKEN_KEYS if k in tok_config})
    tokens = {k: t for k in SPECIAL_TOKEN_KEYS if (t := _token_text(special.get(k))) is not None}

    path = model_dir / "tokenizer.json"
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise RunnerError("The model has no tokenizer.json (the only tokenizer format supported)") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeModelError("The model's tokenizer.json is not a regular file (links are refused)")
    if st.st_size > limits.max_tokenizer_bytes:
        raise ResourceLimitError(f"The model's tokenizer.json is larger than {limits.max_tokenizer_bytes} bytes")
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust library raises plain Exception on malformed files
        raise RunnerError(f"The model's tokenizer.json is invalid: {str(exc)[:200]}") from None
    if backend.get_vocab_size(with_added_tokens=True) > limits.max_vocab:
        raise ResourceLimitError(f"The model's tokenizer has more than {limits.max_vocab} tokens")
    max_length = tok_config.get("model_max_length")
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length <= 0:
        max_length = config.get("max_position_embeddings")
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length <= 0:
        max_length = 512
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, model_max_length=min(max_length, limits.max_length), **tokens
    )
    if tokenizer.pad_token is None:
        # Padding positions are masked out, so any token works; prefer the conventional ones.
        for fallback in (tokenizer.eos_token, tokenizer.unk_token, tokenizer.sep_token):
            if fallback is not None:
                tokenizer.pad_token = fallback
                break
        else:
            raise RunnerError("The model's tokenizer has no padding token (pad, eos, unk or sep)")
    tokenizer.padding_side = "right"
    return tokenizer


def tokenizer_files(model_dir: Path) -> list[str]:
    """The tokenizer files a derived model carries over (after ``load_tokenizer`` accepted them)."""
    names = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
    return [n for n in names if (model_dir / n).is_file() and not (model_dir / n).is_symlink()]


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    if isinstance(value, str) and 0 < len(value) <= 256:
        return value
    return None


def _is_builtin_tokenizer_class(name: Any) -> bool:
    """True for class names transformers itself maps tokenizers to (``BertTokenizer``,
    ``BertTokenizerFast``, ``TokenizersBackend``). The name is only compared, never resolved:
    we always build the tokenizer from tokenizer.json ourselves."""
    if not isinstance(name, str) or len(name) > 100:
        return False
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES

    known = {"PreTrainedTokenizerFast", "TokenizersBackend"}
    for value in TOKENIZER_MAPPING_NAMES.values():
        for cls_name in value if isinstance(value, tuple | list) else (value,):
            if isinstance(cls_name, str):
                known.update((cls_name, f"{cls_name}Fast", cls_name.removesuffix("Fast")))
    return name in known
