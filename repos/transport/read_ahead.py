"""Read ahead of the server: the next block of a download is produced in a pool thread while the
current one is being sent.

Why: a file with a descriptor goes out by `sendfile` (no copy through Python), but the
plaintext of an encrypted object (or of a xorb range) has no descriptor: each block is read and
decrypted in Python, then sent. Done in turn, the socket idles while AES-GCM runs and the cipher
idles while the socket drains; both release the GIL, so they overlap on a second core. On the
bench's 2-core VM (curl on the same cores) this took encrypted downloads from 0.58x to
0.66-0.86x of the plain `sendfile` path (bench/README.md, "Encryption at rest over HTTP").

Invariants:
- At most one block is in flight per reader, so the reader (not thread safe, like any file) is
  only ever used by one thread at a time, and memory is a few blocks per download.
- The pool is per process and bounded (Python's default: CPU count + 4, at most 32): a
  hundred downloads queue for the cipher instead of running a hundred decrypting threads, and
  a few reads waiting on the disk do not stall the others. A gunicorn worker forked after a
  pool exists makes its own (threads do not survive `fork`).
- `close()` waits for the block in flight before closing the source, whatever happens to it:
  a client that hangs up never leaves a pool thread reading a closed file.
- An error raised while reading ahead (a chunk that fails authentication, a truncated file)
  is raised by the `read` that would have returned that block, as without read-ahead, and by
  every read after it: a body that failed never looks like one that ended.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

# Blocks of this size are read ahead: three per download are alive at once (the one being
# sent, the one being read, the reader's scratch). Measured on the 2-core VM, curl as the
# client: 256 KiB gained nothing over no read-ahead, 1 MiB 0.72-0.79x of sendfile, 2 MiB
# 0.83-0.88x, 4 MiB 0.68-0.80x (the blocks no longer stay in the CPU's caches between the
# decryption and the copy to the socket).
BLOCK_SIZE = 2 * 1024 * 1024

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(thread_name_prefix="read-ahead"))
        return _pool[1]


class ReadAhead:
    """At most `length` bytes of `source` (positioned at the first one), read `BLOCK_SIZE` at a
    time, the next block always being read in the pool while the caller sends this one.

    `read(n)` returns at most `n` bytes (a whole block when `n` is at least `BLOCK_SIZE`, which
    is what the serving helper asks for). There is deliberately no `fileno`: a server must not
    `sendfile` the source's raw bytes.
    """

    def __init__(self, source: BinaryIO, length: int) -> None:
        self._source = source
        self._left = length  # not yet handed out
        self._pending: Future[bytes] | None = None
        self._rest = b""  # what a read smaller than a block left of it
        self._started = self._closed = False  # nothing is read before the server asks
        self._error: BaseException | None = None

    def _request(self) -> None:
        n = min(BLOCK_SIZE, self._left)
        self._pending = _executor().submit(self._source.read, n) if n > 0 else None

    def read(self, n: int = -1) -> bytes:
        block = self._rest or self._next_block()
        if n is None or n < 0 or n >= len(block):
            self._rest = b""
            return block
        self._rest = block[n:]
        return block[:n]

    def _next_block(self) -> bytes:
        if self._error is not None:
            raise self._error
        if not self._started:
            self._started = True
            self._request()
        pending = self._pending
        if pending is None or self._closed:
            return b""
        self._pending = None
        try:
            block = pending.result()  # re-raises the reader's error here, in the serving thread
        except BaseException as exc:
            self._error = exc
            raise
        self._left = self._left - len(block) if block else 0  # ended early: the server sees a short body
        self._request()
        return block

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        pending, self._pending = self._pending, None
        self._rest = b""
        try:
            if pending is not None and not pending.cancel():
                pending.exception()  # wait for it; its error no longer matters to anyone
        finally:
            self._source.close()
