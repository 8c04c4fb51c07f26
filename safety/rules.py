"""safety's content rule for the push policy (`repos.policy.content`): "block unsafe files"."""
from __future__ import annotations

from collections.abc import Sequence

from repos.models import Repository
from repos.policy.content import NewFile
from safety.models import FileScan
from safety.scanning import file_scan
from safety.selectors import blocks_unsafe_files

BLOCKED_MESSAGE = ("Your push was rejected because it contains a file that the hub's model-file scanner does not "
                   "judge safe, and this repository blocks such files")


def blocked_reason(scan: FileScan) -> str:
    imports = ", ".join(f"{i['module']}.{i['name']}" for i in scan.imports if i.get("safety") != "innocuous")
    viruses = ", ".join((scan.av_scan or {}).get("virusNames") or ()) if (scan.av_scan or {}).get("virusFound") else ""
    return (f"{BLOCKED_MESSAGE} (scan status: {scan.status}" + (f"; imports {imports}" if imports else "")
            + (f"; malware {viruses}" if viruses else "") + ").")


class BlockUnsafeFiles:
    """In a repository whose owner turned `block_unsafe_files` on, every added file is scanned
    now, synchronously (verdicts already stored for the same content are reused, and the new
    ones are stored, so the worker's scan after the write costs nothing more); a file whose
    verdict is anything but "safe" refuses the whole write (SECURITY.md T47: caution, error and
    unscanned are not safe either)."""

    def rejections(self, repo: Repository, files: Sequence[NewFile]) -> list[tuple[str, str]]:
        if not blocks_unsafe_files(repo):
            return []
        out = []
        for f in files:
            scan = file_scan(repo=repo, path=f.path, oid=f.oid, size=f.size, open_content=f.open)
            if not scan.is_safe:
                out.append((f.path, blocked_reason(scan)))
        return out
