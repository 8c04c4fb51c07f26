"""The result of scanning one file, and its rendering in the Hugging Face Hub's own shape.

`ModelFileScan.as_security_file_status()` returns exactly what the Hub puts under
`securityFileStatus` in tree / paths-info answers and what `huggingface_hub` parses into
`RepoFile.security` (`BlobSecurityInfo`: it reads `status`, `avScan`, `pickleImportScan` and
derives `safe = status == "safe"`), so the API can emit it as-is:

    {"status": "safe" | "unsafe" | "caution" | "unscanned" | "error",
     "avScan": {"virusFound": bool, "virusNames": [..] | None} | None,
     "pickleImportScan": {"highestSafetyLevel": "innocuous" | "suspicious" | "dangerous",
                          "imports": [{"module": .., "name": .., "safety": ..}, ..]} | None}

Status rule (first match wins): a dangerous import or a virus -> "unsafe"; content that could
not be parsed -> "error"; a bound reached or a format we cannot look into -> "unscanned";
a suspicious import or embedded code -> "caution"; otherwise "safe". Only "safe" is safe:
SECURITY.md T47 requires unscannable/suspicious/error to be shown as not safe.

`reasons` explain the verdict to people and logs; they are not part of the Hub shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from safety.scanners.pickles.globals_policy import Safety, worst

ScanStatus = Literal["safe", "unsafe", "caution", "unscanned", "error"]


@dataclass(frozen=True)
class ImportFinding:
    """One global a pickle in the file imports (or a pseudo-import such as `<computed>`
    standing for a name the pickle only builds at load time)."""

    module: str
    name: str
    safety: Safety

    def as_hub(self) -> dict[str, str]:
        return {"module": self.module, "name": self.name, "safety": self.safety.value}


@dataclass(frozen=True)
class AvScan:
    """A malware scanner's answer (ClamAV or a stub: signatures need the network, so the
    pure layer only carries the result a caller obtained)."""

    virus_found: bool
    virus_names: tuple[str, ...] | None = None

    def as_hub(self) -> dict[str, Any]:
        return {"virusFound": self.virus_found,
                "virusNames": list(self.virus_names) if self.virus_names is not None else None}


@dataclass(frozen=True)
class ModelFileScan:
    status: ScanStatus
    pickle_found: bool
    imports: tuple[ImportFinding, ...] = ()
    reasons: tuple[str, ...] = ()
    members_scanned: int = 0
    bytes_read: int = 0
    av_scan: AvScan | None = None
    formats: tuple[str, ...] = field(default=())

    @property
    def is_safe(self) -> bool:
        return self.status == "safe"

    @property
    def highest_safety_level(self) -> Safety | None:
        if not self.pickle_found:
            return None
        return worst(i.safety for i in self.imports)

    def as_security_file_status(self) -> dict[str, Any]:
        """The Hub's `securityFileStatus` object for this file."""
        level = self.highest_safety_level
        return {
            "status": self.status,
            "avScan": self.av_scan.as_hub() if self.av_scan is not None else None,
            "pickleImportScan": None if level is None else {
                "highestSafetyLevel": level.value,
                "imports": [i.as_hub() for i in self.imports],
            },
        }

    def with_av_scan(self, av_scan: AvScan) -> ModelFileScan:
        """This verdict combined with a malware scanner's: a virus makes the file unsafe."""
        status: ScanStatus = "unsafe" if av_scan.virus_found else self.status
        reasons = self.reasons + (("malware scanner: " + ", ".join(av_scan.virus_names or ("virus found",)),)
                                  if av_scan.virus_found else ())
        return replace(self, status=status, av_scan=av_scan, reasons=reasons)

    def with_av_not_scanned(self, why: str) -> ModelFileScan:
        """This verdict when the malware scanner could not look at the file (too large for it):
        at best "unscanned", never "safe"; `av_scan` stays None (no malware verdict)."""
        status = worse_status(self.status, "unscanned")
        return replace(self, status=status, reasons=self.reasons + (f"malware scanner: not scanned ({why})",))


# The order of `decide_status`: the first of these that applies wins.
_STATUS_RANK: dict[str, int] = {"safe": 0, "caution": 1, "unscanned": 2, "error": 3, "unsafe": 4}


def worse_status(a: ScanStatus, b: ScanStatus) -> ScanStatus:
    return a if _STATUS_RANK[a] >= _STATUS_RANK[b] else b


def decide_status(*, imports: tuple[ImportFinding, ...], malformed: bool, unscanned: bool,
                  embedded_code: bool) -> ScanStatus:
    level = worst(i.safety for i in imports)
    if level is Safety.DANGEROUS:
        return "unsafe"
    if malformed:
        return "error"
    if unscanned:
        return "unscanned"
    if level is Safety.SUSPICIOUS or embedded_code:
        return "caution"
    return "safe"
