"""The owner's "block unsafe files" rule: commits (API, browser) that add a file the scanner
does not judge safe are refused, with the verdict stored; other repositories are unaffected."""
from __future__ import annotations

import pytest

from hub.exceptions import BadRequest
from repos.handles import git_repo
from repos.models import Repository
from safety.models import FileScan
from safety.rules import BLOCKED_MESSAGE
from safety.services import safety_settings_update
from tests.factories import commit_service
from tests.safety.model_files import benign_files, hostile_files


@pytest.fixture
def hostile(tmp_path) -> dict[str, bytes]:
    return hostile_files(str(tmp_path / "canary"))


@pytest.mark.django_db
@pytest.mark.parametrize("as_lfs", [False, True], ids=["regular", "lfs"])
def test_blocked_commit_is_refused_with_the_verdict(repo: Repository, hostile, as_lfs) -> None:
    safety_settings_update(repo=repo, block_unsafe_files=True)
    head = git_repo(repo).resolve("main")
    files = {"fine.txt": b"fine\n", "torch_evil.pt": hostile["torch_evil.pt"]}
    with pytest.raises(BadRequest) as refused:
        commit_service(repo, **({"lfs": files} if as_lfs else {"files": files}))
    message = refused.value.message
    assert BLOCKED_MESSAGE in message and "Offending file: torch_evil.pt" in message
    assert "os.system" in message or "posix.system" in message
    assert "fine.txt" not in message
    assert git_repo(repo).resolve("main") == head  # nothing committed
    assert FileScan.objects.get(repository=repo, path="torch_evil.pt").status == "unsafe"


@pytest.mark.django_db
def test_every_hostile_file_is_blocked_and_benign_ones_pass(repo: Repository, hostile) -> None:
    safety_settings_update(repo=repo, block_unsafe_files=True)
    for path, data in hostile.items():
        with pytest.raises(BadRequest, match=BLOCKED_MESSAGE):
            commit_service(repo, files={path: data})
    result = commit_service(repo, files=benign_files())
    assert git_repo(repo).resolve("main") == result.sha


@pytest.mark.django_db
def test_without_the_setting_unsafe_files_are_only_flagged(repo: Repository, hostile) -> None:
    safety_settings_update(repo=repo, block_unsafe_files=False)
    commit_service(repo, files={"evil.pkl": hostile["os_system.pkl"]})
    assert not FileScan.objects.filter(repository=repo).exists()  # judged later, by the worker
