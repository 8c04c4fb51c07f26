""""Use this model / dataset" snippets, built only from what the repository really holds.

Pure: the caller (`repos.selectors.usage`) reads the root file list and config.json from git
and passes them in as `RepoFacts`; nothing here touches Django or git. A snippet never names
a file the repository does not have (the Hub's own widget once suggested a missing
config.json), and never puts a token in a URL: git gets credentials from a helper, the Python
libraries from `hf auth login` / HF_TOKEN.

Every Python snippet starts by pointing the Hugging Face libraries at this hub (HF_ENDPOINT is
read when huggingface_hub is imported, so it is set first): copied into a fresh interpreter it
runs as shown.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RepoFacts:
    repo_id: str
    repo_type: str  # "model" | "dataset" | "space"
    endpoint: str  # the hub's public URL (HF_ENDPOINT)
    clone_url: str
    files: frozenset[str] = frozenset()  # names of the files at the root of the default branch
    folders: frozenset[str] = frozenset()  # names of the folders there
    config: Mapping[str, Any] | None = None  # config.json, when present and readable
    pipeline_tag: str = ""
    library_name: str = ""
    private: bool = False
    gated: bool = False


@dataclass(frozen=True)
class Snippet:
    key: str  # stable id ("transformers-pipeline", "hf-hub", "git")
    title: str
    language: str  # "python" | "bash": for highlighting
    code: str
    note: str = ""


@dataclass
class Usage:
    library: str  # the library the main snippets are for ("" when only the generic ones apply)
    snippets: list[Snippet] = field(default_factory=list)


# The architecture's suffix names the Auto class and, when the card names no task, the task
# (the Hub infers `pipeline_tag` the same way). Longest suffix first.
_AUTO_BY_SUFFIX: list[tuple[str, str, str]] = [
    ("ForSequenceClassification", "AutoModelForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "AutoModelForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "AutoModelForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "AutoModelForMaskedLM", "fill-mask"),
    ("ForCausalLM", "AutoModelForCausalLM", "text-generation"),
    ("LMHeadModel", "AutoModelForCausalLM", "text-generation"),
    ("ForConditionalGeneration", "AutoModelForSeq2SeqLM", "text2text-generation"),
    ("ForImageClassification", "AutoModelForImageClassification", "image-classification"),
    ("ForObjectDetection", "AutoModelForObjectDetection", "object-detection"),
    ("ForSemanticSegmentation", "AutoModelForSemanticSegmentation", "image-segmentation"),
    ("ForAudioClassification", "AutoModelForAudioClassification", "audio-classification"),
    ("ForCTC", "AutoModelForCTC", "automatic-speech-recognition"),
    ("ForSpeechSeq2Seq", "AutoModelForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForMultipleChoice", "AutoModelForMultipleChoice", ""),
    ("ForNextSentencePrediction", "AutoModelForNextSentencePrediction", ""),
    ("ForPreTraining", "AutoModelForPreTraining", ""),
]
# Tasks transformers' pipeline() accepts, so a card's free-text task never yields a snippet
# that fails on its first line.
PIPELINE_TASKS = frozenset({
    "audio-classification", "automatic-speech-recognition", "depth-estimation", "document-question-answering",
    "feature-extraction", "fill-mask", "image-classification", "image-feature-extraction", "image-segmentation",
    "image-text-to-text", "image-to-image", "image-to-text", "mask-generation", "object-detection",
    "question-answering", "summarization", "table-question-answering", "text-classification", "text-generation",
    "text-to-audio", "text-to-speech", "text2text-generation", "token-classification", "translation",
    "video-classification", "visual-question-answering", "zero-shot-audio-classification",
    "zero-shot-classification", "zero-shot-image-classification", "zero-shot-object-detection",
})  # fmt: skip
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model",
                    "sentencepiece.bpe.model", "tokenizer.model")
_PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                 "diffusion_pytorch_model.safetensors")
DATA_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".txt")
_DATA_FOLDERS = frozenset({"data", "train", "test", "validation"})
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,100}")


def auto_class_for(architecture: str) -> tuple[str, str]:
    """(Auto class, task inferred) for a config's architecture name: `BertForMaskedLM` ->
    (`AutoModelForMaskedLM`, `fill-mask`); unknown heads load with `AutoModel`."""
    for suffix, auto, task in _AUTO_BY_SUFFIX:
        if architecture.endswith(suffix):
            return auto, task
    return "AutoModel", ""


def detect_library(facts: RepoFacts) -> str:
    """The library the repository is for: the card's `library_name`, else what its files say."""
    if facts.library_name:
        return facts.library_name.lower()
    files = facts.files
    if "adapter_config.json" in files:
        return "peft"
    if "model_index.json" in files:
        return "diffusers"
    if "modules.json" in files or "config_sentence_transformers.json" in files:
        return "sentence-transformers"
    if facts.config is not None and ("architectures" in facts.config or "model_type" in facts.config):
        return "transformers"
    return ""


def _architecture(config: Mapping[str, Any] | None) -> str:
    archs = config.get("architectures") if config else None
    if isinstance(archs, list) and archs and isinstance(archs[0], str) and _IDENTIFIER_RE.fullmatch(archs[0]):
        return archs[0]
    return ""


def _q(text: str) -> str:
    """A double-quoted Python string literal (JSON escaping is valid Python: anything odd in a
    repo id or URL stays inside the literal)."""
    return json.dumps(text)


def _endpoint_header(facts: RepoFacts) -> str:
    lines = ["import os", "", "# Use this hub instead of huggingface.co (set before importing the libraries).",
             f"os.environ[\"HF_ENDPOINT\"] = {_q(facts.endpoint)}"]
    if facts.private or facts.gated:
        lines.append("# This repository needs your token: run `hf auth login` once, or set HF_TOKEN.")
    return "\n".join(lines) + "\n\n"


def _preferred_file(facts: RepoFacts) -> str:
    """A real file to download in the huggingface_hub snippet: the config, else the weights,
    else the card, else the first file by name."""
    for name in ("config.json", *_WEIGHT_FILES, "adapter_config.json", "model_index.json", "README.md"):
        if name in facts.files:
            return name
    if facts.repo_type == "dataset":
        data = sorted(f for f in facts.files if f.lower().endswith(DATA_EXTENSIONS))
        if data:
            return data[0]
    visible = sorted(f for f in facts.files if not f.startswith("."))
    return visible[0] if visible else ""


def _transformers(facts: RepoFacts) -> list[Snippet]:
    out: list[Snippet] = []
    rid = _q(facts.repo_id)
    arch = _architecture(facts.config)
    auto, inferred_task = auto_class_for(arch) if arch else ("AutoModel", "")
    task = facts.pipeline_tag if facts.pipeline_tag in PIPELINE_TASKS else inferred_task
    if task in PIPELINE_TASKS:
        out.append(Snippet("transformers-pipeline", "Transformers: pipeline", "python",
                           _endpoint_header(facts)
                           + "# A pipeline: the high-level helper for the model's task\n"
                           + "from transformers import pipeline\n\n"
                           + f"pipe = pipeline({_q(task)}, model={rid})\n"))
    loaders = []
    files = facts.files
    if any(f in files for f in _PROCESSOR_FILES) and any(f in files for f in _TOKENIZER_FILES):
        loaders.append(("AutoProcessor", "processor"))
    elif any(f in files for f in _TOKENIZER_FILES):
        loaders.append(("AutoTokenizer", "tokenizer"))
    elif "preprocessor_config.json" in files:
        loaders.append(("AutoImageProcessor", "processor"))
    loaders.append((auto, "model"))
    imports = ", ".join(cls for cls, _ in loaders)
    body = "".join(f"{var} = {cls}.from_pretrained({rid})\n" for cls, var in loaders)
    out.append(Snippet("transformers-auto", "Transformers: load directly", "python",
                       _endpoint_header(facts) + f"from transformers import {imports}\n\n" + body,
                       note="" if arch else "config.json names no architecture: the base AutoModel is used."))
    return out


def _library_snippets(library: str, facts: RepoFacts) -> list[Snippet]:
    rid = _q(facts.repo_id)
    head = _endpoint_header(facts)
    if library == "transformers" and "config.json" in facts.files:
        return _transformers(facts)
    if library == "sentence-transformers":
        return [Snippet("sentence-transformers", "Sentence Transformers", "python",
                        head + "from sentence_transformers import SentenceTransformer\n\n"
                        f"model = SentenceTransformer({rid})\n"
                        "embeddings = model.encode([\"The weather is lovely today.\"])\n")]
    if library == "diffusers" and "model_index.json" in facts.files:
        return [Snippet("diffusers", "Diffusers", "python",
                        head + "from diffusers import DiffusionPipeline\n\n"
                        f"pipe = DiffusionPipeline.from_pretrained({rid})\n")]
    if library == "peft" and "adapter_config.json" in facts.files:
        return [Snippet("peft", "PEFT", "python",
                        head + "from peft import AutoPeftModel\n\n"
                        f"model = AutoPeftModel.from_pretrained({rid})\n",
                        note="Loads the base model named in adapter_config.json, then this adapter.")]
    if library == "timm":
        return [Snippet("timm", "timm", "python",
                        head + "import timm\n\n"
                        f"model = timm.create_model({_q('hf-hub:' + facts.repo_id)}, pretrained=True)\n")]
    return []


def _dataset_snippets(facts: RepoFacts) -> list[Snippet]:
    # load_dataset() finds data files at the root or in the conventional split folders.
    if not any(f.lower().endswith(DATA_EXTENSIONS) for f in facts.files) and not facts.folders & _DATA_FOLDERS:
        return []
    return [Snippet("datasets", "Datasets", "python",
                    _endpoint_header(facts) + "from datasets import load_dataset\n\n"
                    f"ds = load_dataset({_q(facts.repo_id)})\n")]


def _hub_snippet(facts: RepoFacts) -> Snippet | None:
    filename = _preferred_file(facts)
    if not filename:
        return None
    type_arg = f"\n    repo_type={_q(facts.repo_type)}," if facts.repo_type != "model" else ""
    return Snippet("hf-hub", "huggingface_hub", "python",
                   _endpoint_header(facts) + "from huggingface_hub import hf_hub_download, snapshot_download\n\n"
                   "# One file (cached locally; the path is returned)\n"
                   f"path = hf_hub_download(\n    repo_id={_q(facts.repo_id)},{type_arg}\n"
                   f"    filename={_q(filename)},\n)\n"
                   "# Or the whole repository\n"
                   f"folder = snapshot_download(repo_id={_q(facts.repo_id)}"
                   + (f", repo_type={_q(facts.repo_type)}" if facts.repo_type != "model" else "") + ")\n")


def _git_snippet(facts: RepoFacts) -> Snippet:
    # Credentials come from git's credential helper (README: `hf auth login
    # --add-to-git-credential`); a token in the URL would be stored in .git/config and
    # echoed by git-lfs.
    lines = ["# Large files come through git-lfs: once per machine", "git lfs install", ""]
    if facts.private or facts.gated:
        lines += ["# Credentials from git's helper, never in the URL (once):",
                  "#   git config --global credential.helper store",
                  "#   hf auth login --add-to-git-credential", ""]
    lines.append(f"git clone {facts.clone_url}")
    return Snippet("git", "Git", "bash", "\n".join(lines) + "\n")


def usage_snippets(facts: RepoFacts) -> Usage:
    """The snippets for the repository's library and task first, then huggingface_hub and git."""
    if facts.repo_type == "dataset":
        library, main = "datasets", _dataset_snippets(facts)
    else:
        library = detect_library(facts)
        main = _library_snippets(library, facts) if facts.repo_type == "model" else []
    snippets = list(main)
    hub = _hub_snippet(facts)
    if hub is not None:
        snippets.append(hub)
    snippets.append(_git_snippet(facts))
    return Usage(library=library if main else "", snippets=snippets)
