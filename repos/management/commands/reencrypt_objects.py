"""`python manage.py reencrypt_objects [REPO ...] [--type model] [--new-data-key]`: bring the
LFS objects of repositories (all by default) into the form their visibility asks for:
encrypted for private and opted-in repositories, plain for public ones. Runs while the hub
serves (`repos.objects.moves`); idempotent, so an interrupted run is simply run again.

`--new-data-key` first gives each encrypted repository a fresh data key and re-encrypts its
objects under it (the old key stays in the database until no object uses it).
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import HubError
from repos.models import RepoKey, Repository
from repos.objects.encryption import repo_encrypted
from repos.services.encryption import repository_settle


class Command(BaseCommand):
    help = "Encrypt or decrypt repositories' LFS objects as their visibility asks (see the module docstring)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("repos", nargs="*", metavar="NAMESPACE/NAME", help="Only these repositories.")
        parser.add_argument("--type", default="model", choices=["model", "dataset", "space"],
                            help="Repository type of the names given (default: model).")
        parser.add_argument("--new-data-key", action="store_true",
                            help="Re-encrypt the objects of encrypted repositories under a fresh data key.")

    def handle(self, *args: Any, **options: Any) -> None:
        repos = Repository.objects.all().order_by("pk")
        if options["repos"]:
            wanted = [name.split("/", 1) for name in options["repos"]]
            if any(len(parts) != 2 for parts in wanted):
                raise CommandError("repositories are named NAMESPACE/NAME")
            found = [Repository.objects.filter(repo_type=options["type"], namespace=ns, name=name).first()
                     for ns, name in wanted]
            missing = [n for n, r in zip(options["repos"], found, strict=True) if r is None]
            if missing:
                raise CommandError(f"no such {options['type']} repository: {', '.join(missing)}")
            repos = found  # type: ignore[assignment]
        for repo in repos:
            rekey = options["new_data_key"] and repo_encrypted(repo)
            if rekey:
                RepoKey.objects.filter(repository=repo, active=True).update(active=False)
            try:
                counts = repository_settle(repo=repo, rekey=rekey)
            except HubError as exc:
                raise CommandError(f"{repo.repo_id}: {exc.message}") from None
            summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no objects"
            state = "encrypted" if repo_encrypted(repo) else "plain"
            self.stdout.write(f"{repo.repo_type}:{repo.repo_id} ({state}): {summary}")
