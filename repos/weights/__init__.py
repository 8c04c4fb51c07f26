"""Model weight inspection (safetensors headers; tensor-level diffs later). Django-free."""

from repos.weights.safetensors_header import (
    SafetensorsError,
    SafetensorsHeader,
    TensorInfo,
    read_header,
)

__all__ = ["SafetensorsError", "SafetensorsHeader", "TensorInfo", "read_header"]
