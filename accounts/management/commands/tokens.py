"""`python manage.py tokens create NAME --scope read|write [--name LABEL]` prints the token alone."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services.tokens import token_create


class Command(BaseCommand):
    help = "Manage access tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it on stdout.")
        create.add_argument("name", help="The user the token belongs to.")
        create.add_argument("--scope", choices=["read", "write"], default="read")
        create.add_argument("--name", dest="label", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            try:
                user = User.objects.get(username=options["name"])
            except User.DoesNotExist as exc:
                raise CommandError(f"No user named {options['name']!r}") from exc
            _token, key = token_create(user=user, name=options["label"], role=options["scope"])
            self.stdout.write(key)
