"""`python manage.py scan_files [REPO ...] [--all] [--now]`: scan the branches' and tags' files
of repositories (by default `safety.scan_revision` tasks for the worker; `--now` scans here).

For repositories that existed before scanning was turned on, or after the scanner changed
(`safety.scanning.scanner_version()`, which names the malware scanner too when one is
configured): their files show "queued" until scanned. Content already judged is not scanned
again. REPO is `namespace/name`, `datasets/namespace/name` or
`spaces/namespace/name`.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from repos.git.errors import GitError
from repos.handles import git_repo
from repos.models import Repository
from safety.scanning import revision_scan
from safety.tasks import scan_revision

_TYPES = {"datasets": "dataset", "spaces": "space"}


def _repository(spec: str) -> Repository:
    parts = spec.strip("/").split("/")
    repo_type = "model"
    if len(parts) == 3 and parts[0] in _TYPES:
        repo_type = _TYPES[parts.pop(0)]
    if len(parts) != 2:
        raise CommandError(f"{spec!r}: expected namespace/name (or datasets/namespace/name)")
    repo = Repository.objects.filter(repo_type=repo_type, namespace=parts[0], name=parts[1]).first()
    if repo is None:
        raise CommandError(f"no repository {spec}")
    return repo


class Command(BaseCommand):
    help = "Scan the files of repositories' branches and tags (see the module docstring)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repos", nargs="*", help="namespace/name (datasets/... or spaces/... for those)")
        parser.add_argument("--all", action="store_true", help="every repository")
        parser.add_argument("--now", action="store_true", help="scan in this process instead of the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"] == bool(options["repos"]):
            raise CommandError("name repositories, or --all")
        repos = Repository.objects.all().iterator() if options["all"] else [_repository(r) for r in options["repos"]]
        commits = 0
        for repo in repos:
            try:
                git = git_repo(repo)
                heads = sorted(set(git.refs("refs/heads/").values()) | set(git.refs("refs/tags/").values()))
            except GitError as exc:
                self.stderr.write(f"{repo}: {exc}")
                continue
            for sha in heads:
                commits += 1
                if options["now"]:
                    counts = revision_scan(repo=repo, sha=sha)
                    self.stdout.write(f"{repo.repo_id}@{sha[:12]}: " + ", ".join(
                        f"{n} {status}" for status, n in sorted(counts.items())))
                else:
                    scan_revision.delay(repo.pk, sha)
        self.stdout.write(f"{commits} commit(s) {'scanned' if options['now'] else 'queued for the worker'}")
