"""Settling a repository's stored bytes into the form its visibility asks for (encryption at
rest, `repos.objects.encryption`): its LFS objects (`repos.objects.moves`: encrypted into its
enclave, or decrypted into the shared store) and, when it is encrypted, the Xet xorbs it uses
(`repos.services.xet.repo_xorbs_encrypt`). Run by the worker after a visibility change
(`repos.tasks.repo_objects_settle`) and by `manage.py reencrypt_objects`; idempotent, and the
hub serves everything throughout."""
from __future__ import annotations

from repos.models import Repository
from repos.objects.encryption import repo_encrypted
from repos.objects.moves import repo_objects_settle
from repos.services.xet import repo_xorbs_encrypt


def repository_settle(*, repo: Repository, rekey: bool = False) -> dict[str, int]:
    """Counts per outcome of the LFS objects, plus `xorbs_encrypted` when the repository is
    encrypted."""
    counts = repo_objects_settle(repo=repo, rekey=rekey)
    if repo_encrypted(repo):
        counts["xorbs_encrypted"] = repo_xorbs_encrypt(repo=repo)
    return counts
