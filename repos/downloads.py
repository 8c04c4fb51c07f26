"""What counts as one download of a repository, the way the Hub counts.

One `from_pretrained` or `snapshot_download` fetches many files; the Hub counts one download
per fetch of the file every client of the repository needs once: a model's `config.json`,
or - for models without one (diffusers pipelines, GGUF, scikit-learn...) - its weights files.
A dataset counts its data files. Range requests (resumed or parallel chunks, the safetensors
header reads of `get_safetensors_metadata`) and HEADs never count. Pure: no Django.
"""
from __future__ import annotations

from collections.abc import Callable

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".keras", ".onnx", ".gguf", ".msgpack",
                   ".pkl", ".pickle", ".joblib", ".skops", ".npz", ".tflite", ".mlmodel", ".ot", ".pb", ".nemo")
DATA_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet", ".arrow", ".txt", ".zip", ".tar", ".gz", ".zst",
                 ".xz", ".bz2", ".7z", ".npy", ".npz", ".wav", ".mp3", ".flac", ".png", ".jpg", ".jpeg", ".webdataset")


def counts_as_download(*, repo_type: str, path: str, has_config: Callable[[], bool]) -> bool:
    """Whether a full GET of `path` is one download; `has_config()` (asked only for weights
    files) says whether the model has a top-level config.json."""
    lower = path.lower()
    if repo_type == "dataset":
        return not lower.rsplit("/", 1)[-1].startswith(".") and lower != "readme.md" and lower.endswith(DATA_SUFFIXES)
    if path == "config.json":
        return True
    return lower.endswith(WEIGHT_SUFFIXES) and not has_config()
