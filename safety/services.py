"""Writes of the safety app that are not scans: the owners' settings."""
from __future__ import annotations

from repos.models import Repository
from safety.models import RepoSafetySettings


def safety_settings_update(*, repo: Repository, block_unsafe_files: bool) -> RepoSafetySettings:
    """Turn "block unsafe files" on or off for `repo`. The caller has checked admin rights."""
    settings, _ = RepoSafetySettings.objects.update_or_create(repository=repo,
                                                              defaults={"block_unsafe_files": block_unsafe_files})
    return settings
