"""`manage.py scan_files`: repositories committed before scanning was on get their verdicts."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from repos.models import Repository
from safety.selectors import flagged_paths, pending_paths
from tests.factories import commit
from tests.safety.model_files import hostile_files


@pytest.mark.django_db
def test_scan_files_now_judges_every_branch_and_tag(repo: Repository, tmp_path, capsys) -> None:
    hostile = hostile_files(str(tmp_path / "canary"))
    main = commit(repo, files={"evil.pkl": hostile["os_system.pkl"]})
    side = commit(repo, ref="side", create=True, files={"side.bin": hostile["subprocess.bin"]})
    assert pending_paths(repo, "main")

    call_command("scan_files", repo.repo_id, "--now")

    assert flagged_paths(repo, main) == {"evil.pkl"} and pending_paths(repo, main) == set()
    assert flagged_paths(repo, side) == {"side.bin"}
    assert "2 commit(s) scanned" in capsys.readouterr().out


@pytest.mark.django_db
def test_scan_files_refuses_unknown_repositories_and_no_arguments() -> None:
    with pytest.raises(CommandError, match="no repository"):
        call_command("scan_files", "nobody/nothing")
    with pytest.raises(CommandError, match="--all"):
        call_command("scan_files")
