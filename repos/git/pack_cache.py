"""A cache of the packs `git upload-pack` sends, shared by every clone and fetch that asks
for the same objects (the design of Gitaly's pack-objects cache).

upload-pack runs `hook_scripts/pack-objects-cache` instead of `git pack-objects` (git's
`uploadpack.packObjectsHook`, honoured only from the command line or system/global config,
so `smart_http` passes it with `-c`); that script starts `python -I -S`, which imports this
module by itself (standard library only) and calls `main`.

The key is sha256 of the pack-objects arguments, its whole stdin (shallow lines, wants,
`--not`, haves: object ids, which fully determine the pack's objects), the repository's real
path and, with `--include-tag`, the repository's tags (the only refs pack-objects reads).
Filters, depth and progress flags are arguments or stdin, so they key differently.

* hit: the finished file is streamed to stdout (`sendfile`);
* miss: the real pack-objects runs, its stdout teed into `<key>.pack.tmp.<pid>` and renamed
  to `<key>.pack` only when it exited 0, so a partial pack is never served;
* concurrent misses for one key queue on `flock(<key>.lock)`: the first generates, the
  others wait and then stream its file (8 parallel clones cost one pack-objects run).

Bounded: entries older than the TTL are never served and are removed, and after every miss
the oldest entries go until the total fits `max_bytes`. Every request appends one line to
`stats.log` in the cache directory (`<time> hit|wait-hit|miss|uncached <key> <bytes>
<git dir>`), rotated at 1 MiB. No fsync: a pack damaged by a crash fails the client's own
checksum verification; an entry that does not even start with `PACK` is regenerated.

Anything wrong with the cache itself (unwritable directory, full disk) falls back to plain
pack-objects: the cache may only ever make a fetch cheaper, never fail it.

Only cheap standard-library modules are imported: this starts on every clone and fetch.
"""
from __future__ import annotations

import fcntl
import os
import sys
import time

try:
    from _sha256 import sha256  # the builtin: OpenSSL's (hashlib) costs ~4 ms more per hook start
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha256

ENV_DIR = "HUB_PACK_CACHE_DIR"
ENV_MAX_BYTES = "HUB_PACK_CACHE_MAX_BYTES"
ENV_TTL = "HUB_PACK_CACHE_TTL"
ENV_PYTHON = "HUB_PACK_CACHE_PYTHON"
ENV_PROGRAM = "HUB_PACK_CACHE_PROGRAM"

HOOK_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hook_scripts", "pack-objects-cache")
PROGRAM_PATH = os.path.abspath(__file__)

DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_TTL = 3600.0
KEY_VERSION = b"pack-cache-v1"
PACK_SUFFIX = ".pack"
LOCK_SUFFIX = ".lock"
TMP_MARK = ".pack.tmp."
STATS_LOG = "stats.log"
STATS_MAX_BYTES = 1024 * 1024
CHUNK_SIZE = 64 * 1024


class PackCacheSettings:
    """Where the cache lives and its bounds; `smart_http` turns it into upload-pack's
    config and environment."""

    __slots__ = ("directory", "max_bytes", "ttl", "python")

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 ttl: float = DEFAULT_TTL, python: str | None = None) -> None:
        self.directory = os.fspath(directory)
        self.max_bytes = int(max_bytes)
        self.ttl = float(ttl)
        self.python = python or sys.executable

    def git_config(self) -> dict[str, str]:
        import shlex  # not at the top: the hook's start-up pays for every import there

        # The value is a shell command to which git appends `git pack-objects ...`.
        return {"uploadpack.packObjectsHook": shlex.quote(HOOK_PATH)}

    def env(self) -> dict[str, str]:
        return {ENV_DIR: self.directory, ENV_MAX_BYTES: str(self.max_bytes), ENV_TTL: repr(self.ttl),
                ENV_PYTHON: self.python, ENV_PROGRAM: PROGRAM_PATH}


def hook_installed() -> bool:
    """Whether git can run the hook: a checkout that lost the file mode would otherwise make
    every clone fail (then the cache is skipped instead)."""
    return os.access(HOOK_PATH, os.X_OK)


# --------------------------------------------------------------------------- keys


def tags_fingerprint(git_dir: str) -> bytes:
    """The repository's tags (packed and loose) as bytes: `--include-tag` adds the annotated
    tags that point into the pack, so a new or moved tag must change the key."""
    parts: list[bytes] = []
    try:
        with open(os.path.join(git_dir, "packed-refs"), "rb") as f:
            parts += [line for line in f.read().splitlines() if b" refs/tags/" in line]
    except FileNotFoundError:
        pass
    root = os.path.join(git_dir, "refs", "tags")
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    parts.append(os.path.relpath(path, root).encode() + b" " + f.read().strip())
            except OSError:
                continue  # deleted meanwhile
    return b"\n".join(sorted(parts))


def cache_key(*, args: list[str], stdin: bytes, git_dir: str, tags: bytes = b"") -> str:
    """`args` is what follows the git executable (`pack-objects --revs ...`, or
    `--shallow-file "" pack-objects ...` for shallow fetches)."""
    h = sha256(KEY_VERSION)
    for part in (git_dir.encode(), b"\0".join(a.encode() for a in args), stdin, tags):
        h.update(b"%d:" % len(part))
        h.update(part)
    return h.hexdigest()


# --------------------------------------------------------------------------- entries


def open_fresh_entry(path: str, *, ttl: float, now: float | None = None) -> int | None:
    """A read fd of a finished entry younger than `ttl`, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    st = os.fstat(fd)
    if (now if now is not None else time.time()) - st.st_mtime > ttl or os.pread(fd, 4, 0) != b"PACK":
        os.close(fd)
        return None
    return fd


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def stream_file(fd: int, out_fd: int) -> int:
    """Copy all of `fd` to `out_fd` (a pipe to upload-pack); returns the bytes sent."""
    size = os.fstat(fd).st_size
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(out_fd, fd, offset, min(size - offset, 1024 * 1024))
            if sent == 0:
                break
            offset += sent
    except OSError as exc:
        if offset or exc.errno not in (22, 38):  # EINVAL/ENOSYS: no sendfile to this fd
            raise
        while chunk := os.pread(fd, CHUNK_SIZE, offset):
            _write_all(out_fd, chunk)
            offset += len(chunk)
    return offset


def lock_key(lock_path: str, *, blocking: bool = True) -> tuple[int | None, bool]:
    """Hold `lock_path` with flock: (fd, waited), or (None, False) when not `blocking` and
    busy. The fd is checked to be the file still at `lock_path`: eviction unlinks lock files
    (holding them), and a lock taken on an unlinked file would exclude nobody."""
    waited = False
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not blocking:
                os.close(fd)
                return None, False
            waited = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            current = os.stat(lock_path)
        except FileNotFoundError:
            current = None
        held = os.fstat(fd)
        if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
            return fd, waited
        os.close(fd)


def record(directory: str, event: str, key: str, size: int, git_dir: str) -> None:
    line = f"{time.time():.3f} {event} {key} {size} {git_dir}\n".encode()
    try:
        fd = os.open(os.path.join(directory, STATS_LOG), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)  # one O_APPEND write: lines of concurrent hooks don't interleave
        finally:
            os.close(fd)
    except OSError:
        pass


def evict(directory: str, *, max_bytes: int, ttl: float, now: float | None = None) -> list[str]:
    """Remove expired entries, then the oldest until the rest fit `max_bytes`, then the
    temporary files of dead writers and unused lock files. Returns the names removed."""
    now = time.time() if now is None else now
    entries: list[tuple[float, int, str]] = []
    temps: list[str] = []
    locks: list[str] = []
    removed: list[str] = []

    def remove(name: str) -> None:
        try:
            os.unlink(os.path.join(directory, name))
            removed.append(name)
        except FileNotFoundError:
            pass

    with os.scandir(directory) as it:
        for entry in it:
            name = entry.name
            try:
                if name.endswith(PACK_SUFFIX):
                    st = entry.stat()
                    if now - st.st_mtime > ttl:
                        remove(name)
                    else:
                        entries.append((st.st_mtime, st.st_size, name))
                elif TMP_MARK in name:
                    temps.append(name)
                elif name.endswith(LOCK_SUFFIX):
                    locks.append(name)
            except FileNotFoundError:
                continue
    entries.sort(reverse=True)  # newest first: they are kept
    total = 0
    kept = set()
    for _mtime, size, name in entries:
        total += size
        if total > max_bytes:
            remove(name)
        else:
            kept.add(name)
    # A temporary file is being written only while its key's lock is held; a lock file is
    # removed only by whoever holds it (see lock_key).
    for name in temps:
        key = name.split(TMP_MARK, 1)[0]
        fd, _ = lock_key(os.path.join(directory, key + LOCK_SUFFIX), blocking=False)
        if fd is not None:
            try:
                remove(name)
                if key + PACK_SUFFIX not in kept:
                    remove(key + LOCK_SUFFIX)
            finally:
                os.close(fd)
    for name in locks:
        if name[: -len(LOCK_SUFFIX)] + PACK_SUFFIX in kept or name in removed:
            continue
        fd, _ = lock_key(os.path.join(directory, name), blocking=False)
        if fd is not None:
            try:
                remove(name)
            finally:
                os.close(fd)
    stats = os.path.join(directory, STATS_LOG)
    try:
        if os.stat(stats).st_size > STATS_MAX_BYTES:
            os.replace(stats, stats + ".1")
    except FileNotFoundError:
        pass
    return removed


# --------------------------------------------------------------------------- running


def run_pack_objects(argv: list[str], stdin: bytes, out_fd: int, *, tee_path: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[int, int | None]:
    """Run `argv` (git ... pack-objects ...) with `stdin`, copying its stdout to `out_fd`
    and, when `tee_path` is given, into that new file. Returns (exit code, bytes in the file
    or None when the copy was abandoned: too large, disk error). Progress (stderr) passes
    through. A client gone away (EPIPE) does not stop the run: waiters want the file.

    posix_spawn and a memfd as stdin rather than `subprocess` and a feeder thread: their
    imports alone cost more CPU than a small fetch's pack-objects."""
    import signal

    tee: int | None = None
    if tee_path is not None:
        try:
            tee = os.open(tee_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:
            tee = None
    source = os.memfd_create("pack-objects-stdin")  # close-on-exec, like the pipe's ends
    try:
        _write_all(source, stdin)
        os.lseek(source, 0, os.SEEK_SET)
        read_end, write_end = os.pipe()
        try:
            try:
                fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, 1024 * 1024)  # fewer, larger reads
            except OSError:
                pass
            pid = os.posix_spawnp(argv[0], argv, os.environ,
                                  file_actions=[(os.POSIX_SPAWN_DUP2, source, 0),
                                                (os.POSIX_SPAWN_DUP2, write_end, 1)],
                                  setsigdef=(signal.SIGPIPE,))
        finally:
            os.close(write_end)
    finally:
        os.close(source)
    written = 0
    out_ok = True
    status: int | None = None
    buffer = bytearray(1024 * 1024)  # reused: a fresh 1 MiB object per read costs page faults
    view = memoryview(buffer)
    try:
        while n := os.readv(read_end, [buffer]):
            chunk = view[:n]
            if out_ok:
                try:
                    _write_all(out_fd, chunk)
                except OSError:
                    out_ok = False
            if tee is not None:
                written += len(chunk)
                try:
                    if written > max_bytes:
                        raise OSError("pack larger than the whole cache")
                    _write_all(tee, chunk)
                except OSError:
                    os.close(tee)
                    tee = None
            if not out_ok and tee is None:
                break
        else:
            status = os.waitpid(pid, 0)[1]
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            status = os.waitpid(pid, 0)[1]
        os.close(read_end)
        if tee is not None:
            os.close(tee)
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc  # killed by a signal, as a shell reports it
    if not out_ok and rc == 0:
        rc = 1
    return rc, (written if tee is not None else None)


def serve(argv: list[str], stdin: bytes, *, directory: str, git_dir: str, max_bytes: int = DEFAULT_MAX_BYTES,
          ttl: float = DEFAULT_TTL, out_fd: int = 1) -> int:
    """Answer one pack-objects run (`argv` = git ... pack-objects ...) from the cache,
    generating the entry on a miss. Returns the exit code for upload-pack."""
    args = argv[1:]
    key = cache_key(args=args, stdin=stdin, git_dir=git_dir,
                    tags=tags_fingerprint(git_dir) if "--include-tag" in args else b"")
    entry = os.path.join(directory, key + PACK_SUFFIX)
    waited = False
    try:
        fd = open_fresh_entry(entry, ttl=ttl)
        if fd is None:
            lock_fd, waited = lock_key(os.path.join(directory, key + LOCK_SUFFIX))
    except OSError:
        # The cache is broken, not the fetch (nothing was written to out_fd yet).
        record(directory, "uncached", key, 0, git_dir)
        return run_pack_objects(argv, stdin, out_fd)[0]
    if fd is None:
        assert lock_fd is not None
        try:
            fd = open_fresh_entry(entry, ttl=ttl)  # the one we waited for, usually
        except OSError:
            fd = None
        if fd is None:
            return _generate(argv, stdin, out_fd, directory=directory, key=key, git_dir=git_dir,
                             max_bytes=max_bytes, ttl=ttl, lock_fd=lock_fd)
        os.close(lock_fd)
    try:
        sent = stream_file(fd, out_fd)
    except OSError:
        return 1  # upload-pack went away
    finally:
        os.close(fd)
    record(directory, "wait-hit" if waited else "hit", key, sent, git_dir)
    return 0


def _generate(argv: list[str], stdin: bytes, out_fd: int, *, directory: str, key: str, git_dir: str,
              max_bytes: int, ttl: float, lock_fd: int) -> int:
    """The miss path, entered holding the key's lock (released here once the entry is
    in place, so waiters find it)."""
    tmp = f"{directory}/{key}{TMP_MARK}{os.getpid()}"
    cached = False
    try:
        rc, size = run_pack_objects(argv, stdin, out_fd, tee_path=tmp, max_bytes=max_bytes)
        if rc == 0 and size:
            try:
                os.replace(tmp, os.path.join(directory, key + PACK_SUFFIX))
                cached = True
            except OSError:
                pass
        if not cached:
            _unlink_quietly(tmp)
    finally:
        os.close(lock_fd)
    record(directory, "miss" if cached else "uncached", key, size or 0, git_dir)
    try:
        evict(directory, max_bytes=max_bytes, ttl=ttl)
    except OSError:
        pass
    return rc


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_stdin() -> bytes:
    chunks = []
    while chunk := os.read(0, CHUNK_SIZE):
        chunks.append(chunk)
    return b"".join(chunks)


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: pack_cache.py git [options] pack-objects ...", file=sys.stderr)
        return 2
    directory = os.environ.get(ENV_DIR)
    if not directory:
        os.execvp(argv[0], argv)
    stdin = _read_stdin()
    # upload-pack runs us in the repository with GIT_DIR=. (relative to that directory).
    git_dir = os.path.realpath(os.environ.get("GIT_DIR", "."))
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return run_pack_objects(argv, stdin, 1)[0]
    return serve(argv, stdin, directory=directory, git_dir=git_dir,
                 max_bytes=int(_float_env(ENV_MAX_BYTES, DEFAULT_MAX_BYTES)), ttl=_float_env(ENV_TTL, DEFAULT_TTL))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
