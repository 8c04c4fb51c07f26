"""Model weight inspection: safetensors headers and tensor-level diffs. Django-free.

Modules: ``safetensors_header`` (validate a header without touching data), ``bounded_json``
(untrusted JSON with limits), ``checkpoint`` (one file or index + shards, as blobs),
``tensor_diff`` (header and data diffs), ``tensor_diff_result`` (the JSON-able result),
``tensor_numeric`` (per-tensor change statistics), ``chunk_reader`` (byte ranges, chunk compare).
"""

from repos.weights.safetensors_header import (
    HeaderLimitExceeded,
    HeaderTooLarge,
    InvalidLayout,
    InvalidTensor,
    MalformedHeader,
    SafetensorsError,
    SafetensorsHeader,
    TensorInfo,
    TruncatedFile,
    read_header,
)

__all__ = [
    "HeaderLimitExceeded",
    "HeaderTooLarge",
    "InvalidLayout",
    "InvalidTensor",
    "MalformedHeader",
    "SafetensorsError",
    "SafetensorsHeader",
    "TensorInfo",
    "TruncatedFile",
    "read_header",
]
