#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.dev")
    from hub.datadir import database_problem

    # Before the settings load (they create the data directory): an operator command against a
    # data directory without a database gets a clear message, not a traceback and an empty ./data.
    if problem := database_problem(sys.argv):
        print(f"manage.py {sys.argv[1]}: {problem}", file=sys.stderr)
        sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
