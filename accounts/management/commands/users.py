"""`python manage.py users create NAME --password PW [--email E] [--admin]` (operator contract)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services.users import user_create
from hub.exceptions import HubError


class Command(BaseCommand):
    help = "Manage users."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a user.")
        create.add_argument("name")
        create.add_argument("--password", required=True)
        create.add_argument("--email", default="")
        create.add_argument("--admin", action="store_true", help="Make the user a site administrator.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            try:
                user = user_create(username=options["name"], password=options["password"],
                                   email=options["email"], is_admin=options["admin"])
            except HubError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(user.username)
