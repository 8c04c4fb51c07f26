"""Rewriting stored objects between keys and into/out of encryption: whole-old-or-whole-new
(including a real ``kill -9`` before the rename), no plaintext in temporary files, readers
undisturbed while a rewrite runs, idempotence, and no resurrection of deleted objects."""
from __future__ import annotations

import hashlib
import os
import select
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from repos.objects.crypto.atomic_file import TEMP_SUFFIX, AtomicFile, stale_temp_files
from repos.objects.crypto.errors import (
    ChunkAuthenticationError,
    DecryptionError,
    DigestMismatch,
    ObjectChanged,
    UnknownDataKey,
)
from repos.objects.crypto.format import EncryptedReader, open_encrypted, open_plaintext, read_header
from repos.objects.crypto.keys import DataKey
from repos.objects.crypto.reencrypt import Outcome, reencrypt_object

ROOT = Path(__file__).resolve().parents[4]
MARKER = b"SECRET-PATIENT-RECORD-0001"
DATA = (MARKER + os.urandom(500)) * 30
OID = hashlib.sha256(DATA).hexdigest()
KEY_A = DataKey(key_id="keyA", secret=b"A" * 31 + b"a")
KEY_B = DataKey(key_id="keyB", secret=b"B" * 31 + b"b")
KEYS = {k.key_id: k for k in (KEY_A, KEY_B)}


def key_for(key_id: str) -> DataKey:
    try:
        return KEYS[key_id]
    except KeyError:
        raise UnknownDataKey(key_id) from None


def _store(tmp_path: Path, data: bytes = DATA) -> Path:
    path = tmp_path / OID[:2] / OID[2:4] / OID
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    path.chmod(0o640)
    return path


def _plaintext(path: Path) -> bytes:
    with open_plaintext(path, oid=OID, key_for=key_for) as f:
        return f.read()


def test_plain_to_encrypted_to_other_key_to_plain(tmp_path):
    path = _store(tmp_path)

    result = reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for, expected_sha256=OID)
    assert (result.outcome, result.old_key_id, result.new_key_id) == (Outcome.ENCRYPTED, None, "keyA")
    assert result.sha256 == OID and result.size == len(DATA)
    raw = path.read_bytes()
    assert MARKER not in raw and read_header(open(path, "rb")).key_id == "keyA"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _plaintext(path) == DATA

    result = reencrypt_object(path, oid=OID, target_key=KEY_B, key_for=key_for, expected_sha256=OID)
    assert (result.outcome, result.old_key_id, result.new_key_id) == (Outcome.REENCRYPTED, "keyA", "keyB")
    assert MARKER not in path.read_bytes()
    with pytest.raises(DecryptionError):
        EncryptedReader(open(path, "rb"), data_key=KEY_A, oid=OID)
    assert _plaintext(path) == DATA

    result = reencrypt_object(path, oid=OID, target_key=None, key_for=key_for, expected_sha256=OID)
    assert result.outcome == Outcome.DECRYPTED
    assert path.read_bytes() == DATA
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == [OID]


def test_empty_and_chunk_boundary_objects(tmp_path):
    for size in (0, 1024, 1025):
        data = os.urandom(size)
        path = tmp_path / f"o{size}"
        path.write_bytes(data)
        reencrypt_object(path, oid="o", target_key=KEY_A, key_for=key_for, chunk_size=1024)
        reencrypt_object(path, oid="o", target_key=KEY_B, key_for=key_for, chunk_size=1024)
        reencrypt_object(path, oid="o", target_key=None, key_for=key_for)
        assert path.read_bytes() == data


def test_already_in_the_requested_form_is_unchanged_and_untouched(tmp_path):
    path = _store(tmp_path)
    assert reencrypt_object(path, oid=OID, target_key=None, key_for=key_for).outcome == Outcome.UNCHANGED
    reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for)
    before = path.stat()
    result = reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for)
    assert result.outcome == Outcome.UNCHANGED and result.size == len(DATA)
    assert path.stat().st_ino == before.st_ino


def test_digest_mismatch_leaves_the_file_and_no_temp(tmp_path):
    path = _store(tmp_path)
    with pytest.raises(DigestMismatch):
        reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for, expected_sha256="0" * 64)
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in path.parent.iterdir()) == [OID]


def test_tampered_source_is_not_rewritten(tmp_path):
    path = _store(tmp_path)
    reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for)
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(ChunkAuthenticationError):
        reencrypt_object(path, oid=OID, target_key=KEY_B, key_for=key_for)
    assert path.read_bytes() == bytes(blob)
    with pytest.raises(UnknownDataKey):
        reencrypt_object(path, oid=OID, target_key=None, key_for=lambda key_id: key_for(key_id + "x"))
    assert sorted(p.name for p in path.parent.iterdir()) == [OID]


def test_plain_file_mimicking_the_header_fails_closed_unless_declared_plain(tmp_path):
    path = tmp_path / "o"
    path.write_bytes(b"\x89MHENC\r\n" + b"user data that is not ours")
    with pytest.raises(DecryptionError):
        reencrypt_object(path, oid="o", target_key=KEY_A, key_for=key_for)
    reencrypt_object(path, oid="o", target_key=KEY_A, key_for=key_for, source_encrypted=False)
    with open_encrypted(path, oid="o", key_for=key_for) as r:
        assert r.read() == b"\x89MHENC\r\n" + b"user data that is not ours"


def test_object_deleted_or_replaced_meanwhile_is_not_resurrected(tmp_path, monkeypatch):
    import repos.objects.crypto.reencrypt as module

    path = _store(tmp_path)
    real_encrypt = module.encrypt_stream

    def encrypt_then_delete(*args, **kwargs):
        result = real_encrypt(*args, **kwargs)
        path.unlink()  # garbage collection ran meanwhile
        return result

    monkeypatch.setattr(module, "encrypt_stream", encrypt_then_delete)
    with pytest.raises(ObjectChanged, match="deleted"):
        reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for)
    assert list(path.parent.iterdir()) == []

    path.write_bytes(DATA)

    def encrypt_then_replace(*args, **kwargs):
        result = real_encrypt(*args, **kwargs)
        newer = path.with_name("newer")
        newer.write_bytes(b"newer write")
        os.replace(newer, path)
        return result

    monkeypatch.setattr(module, "encrypt_stream", encrypt_then_replace)
    with pytest.raises(ObjectChanged, match="replaced"):
        reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for)
    assert path.read_bytes() == b"newer write"
    assert [p.name for p in path.parent.iterdir()] == [OID]


def test_exception_mid_stream_keeps_the_old_file(tmp_path, monkeypatch):
    import repos.objects.crypto.encrypt as fmt

    path = _store(tmp_path)
    calls = 0
    real = fmt.write_all

    def failing_write(dest, view):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        real(dest, view)

    monkeypatch.setattr(fmt, "write_all", failing_write)
    with pytest.raises(OSError, match="No space"):
        reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for, chunk_size=1024)
    assert path.read_bytes() == DATA
    assert [p.name for p in path.parent.iterdir()] == [OID]


_CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from repos.objects.crypto.keys import DataKey
    from repos.objects.crypto.reencrypt import reencrypt_object

    def blocked_replace(src, dst):
        print("READY", src, flush=True)
        sys.stdin.read()  # wait here until killed

    os.replace = blocked_replace
    key = DataKey(key_id="keyA", secret=bytes.fromhex(os.environ["TEST_KEY"]))
    reencrypt_object(Path(sys.argv[1]), oid=sys.argv[2], target_key=key, key_for=lambda _id: key, chunk_size=1024)
    """
)


def _readline_with_deadline(proc: subprocess.Popen[str], seconds: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            return proc.stdout.readline()
    raise AssertionError("child did not reach the rename in time")


def test_kill_9_just_before_the_rename_leaves_the_old_file_whole_and_only_ciphertext_behind(tmp_path):
    path = _store(tmp_path)
    env = {**os.environ, "TEST_KEY": KEY_A.secret.hex(), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), OID], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = _readline_with_deadline(proc, 60)
        assert line.startswith("READY "), (line, proc.stderr.read() if proc.poll() is not None else "")
        temp = Path(line.split(" ", 1)[1].strip())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == DATA  # the old file, whole
    assert temp.parent == path.parent and temp.name.startswith(".") and temp.name.endswith(TEMP_SUFFIX)
    leftover = temp.read_bytes()
    assert MARKER not in leftover  # the crash left ciphertext only
    # Created 0600; the target's mode is applied only after the last byte is fsynced.
    assert stat.S_IMODE(temp.stat().st_mode) == 0o640
    with EncryptedReader(open(temp, "rb"), data_key=KEY_A, oid=OID) as r:
        assert r.read() == DATA  # and it was complete, fsynced before the rename
    assert list(stale_temp_files(path.parent, older_than_s=-1)) == [temp]
    assert list(stale_temp_files(path.parent, older_than_s=3600)) == []


def test_readers_keep_working_while_the_object_is_rewritten_back_and_forth(tmp_path):
    path = _store(tmp_path)
    reencrypt_object(path, oid=OID, target_key=KEY_A, key_for=key_for)
    # A download that opened the old file before the rewrite keeps its old bytes.
    early = open_encrypted(path, oid=OID, key_for=key_for)
    early.seek(100)
    assert early.read(50) == DATA[100:150]

    stop, errors, reads = threading.Event(), [], [0]

    def serve_loop() -> None:
        while not stop.is_set():
            try:
                assert _plaintext(path) == DATA
                reads[0] += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    reader = threading.Thread(target=serve_loop)
    reader.start()
    try:
        for target in [KEY_B, KEY_A, None, KEY_B, None, KEY_A] * 3:
            reencrypt_object(path, oid=OID, target_key=target, key_for=key_for, expected_sha256=OID)
        deadline = time.monotonic() + 30
        while reads[0] < 3 and not errors and time.monotonic() < deadline:
            reencrypt_object(path, oid=OID, target_key=KEY_B if read_header(open(path, "rb")).key_id == "keyA"
                             else KEY_A, key_for=key_for)
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert reads[0] >= 3
    assert early.read() == DATA[150:]
    early.close()
    assert sorted(p.name for p in path.parent.iterdir()) == [OID]


def test_atomic_file_no_clobber_and_abort(tmp_path):
    target = tmp_path / "t"
    with AtomicFile(target) as out:
        out.file.write(b"one")
        out.commit()
    with AtomicFile(target, no_clobber=True) as out:
        out.file.write(b"two")
        with pytest.raises(FileExistsError):
            out.commit()
    with AtomicFile(target) as out:
        out.file.write(b"three")  # left without commit: discarded
    assert target.read_bytes() == b"one"
    assert [p.name for p in tmp_path.iterdir()] == ["t"]
