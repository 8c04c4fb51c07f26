"""Pickle and model-file scanning: is there pickled code in this file, and what would it import?

Public API: `scan_model_file(fileobj, *, limits, clock, spool_dir) -> ModelFileScan`, whose
`as_security_file_status()` is the Hugging Face Hub's `securityFileStatus` object.
"""

from safety.scanners.pickles.globals_policy import Safety, classify_global
from safety.scanners.pickles.scan import DEFAULT_LIMITS, ScanLimits, scan_model_file
from safety.scanners.pickles.verdict import AvScan, ImportFinding, ModelFileScan, ScanStatus

__all__ = [
    "DEFAULT_LIMITS",
    "AvScan",
    "ImportFinding",
    "ModelFileScan",
    "Safety",
    "ScanLimits",
    "ScanStatus",
    "classify_global",
    "scan_model_file",
]
