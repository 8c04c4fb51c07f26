"""`python manage.py rotate_master_key [--retire]`: re-wrap every data key under a new master key.

Objects are not rewritten (a rotation changes one short database value per data key), and the
hub keeps serving throughout: every process unwraps under the old and the new key meanwhile.

- Key in the environment: set HUB_MASTER_KEY to the new key and HUB_MASTER_KEY_PREVIOUS to the
  old one for every process, then run this command; once it reports nothing left to re-wrap,
  drop HUB_MASTER_KEY_PREVIOUS.
- Key file (HUB_MASTER_KEY_FILE, the embedded default): the command generates the new key
  itself, writes it first in the file with the old keys after it, and re-wraps; `--retire`
  then removes the old keys from the file (only when every data key is re-wrapped).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.exceptions import EncryptionKeyUnavailable
from repos.objects.crypto.keys import Keyring, write_key_file
from repos.objects.encryption import forget_keys, keyring, rewrap_data_keys


class Command(BaseCommand):
    help = "Re-wrap every repository data key under a new master key (see the module docstring)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retire", action="store_true",
                            help="Key file only: afterwards drop the previous keys from the file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ring = keyring()
            if settings.HUB_MASTER_KEY:
                if options["retire"]:
                    raise CommandError("--retire applies to a key file; with HUB_MASTER_KEY, unset "
                                       "HUB_MASTER_KEY_PREVIOUS instead")
            else:
                path = Path(settings.HUB_MASTER_KEY_FILE)
                ring = ring.rotated()
                write_key_file(path, ring, data_dir=Path(settings.DATA_DIR), replace=True)
                forget_keys()
                self.stdout.write(f"new master key {ring.current.fingerprint} written to {path}")
            done, total = rewrap_data_keys()
        except EncryptionKeyUnavailable as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"re-wrapped {done} of {total} data keys under master key {ring.current.fingerprint}")
        if options["retire"]:
            write_key_file(Path(settings.HUB_MASTER_KEY_FILE), Keyring(ring.current), data_dir=Path(settings.DATA_DIR),
                           replace=True)
            forget_keys()
            self.stdout.write(f"retired {len(ring.previous)} previous master key(s)")
