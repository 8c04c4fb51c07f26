"""The embedded Celery broker (`filesystem://`): kombu's filesystem transport, with messages
published atomically.

kombu writes a message straight into the queue folder (open, then write), and a consumer
polling that folder may move and read the file in between: it reads an empty message, fails
to decode it, and the worker's consumer dies with the task lost (seen under load in the
worker tests). Here a message is written to a hidden temporary name (which consumers skip: the
part after the first "." is not "<queue>.msg"), flushed, and renamed into place, so a consumer
sees either nothing or the whole message. Registered for the `filesystem` scheme by hub/celery.py.
"""
from __future__ import annotations

import os
import uuid
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{int(round(filesystem.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(temporary, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, final)
        except OSError as exc:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
