"""The encrypted spools (browser uploads, redacted copies): plaintext in, plaintext out, ciphertext on disk."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from repos.objects.crypto.spool import EncryptedSpool, SpooledEncryptedFile

MARKER = b"SPOOLED-PLAINTEXT-MARKER "


def test_round_trip_with_seeks_and_odd_offsets(tmp_path: Path) -> None:
    data = MARKER * 5000 + os.urandom(10_007)
    with EncryptedSpool(tmp_path, suffix=".upload") as spool:
        for i in range(0, len(data), 65_536 + 3):  # writes not aligned to AES blocks
            spool.write(data[i:i + 65_536 + 3])
        spool.flush()
        on_disk = Path(spool.name).read_bytes()
        assert len(on_disk) == len(data) and MARKER not in on_disk
        spool.seek(0)
        assert spool.read() == data
        for start, n in ((0, 1), (15, 2), (17, 100_000), (len(data) - 5, 50)):
            spool.seek(start)
            assert spool.read(n) == data[start:start + n]
        spool.seek(33)
        buf = bytearray(1000)
        assert spool.readinto(buf) == 1000 and bytes(buf) == data[33:1033]
        with pytest.raises(io.UnsupportedOperation):
            spool.fileno()
        name = spool.name
    assert not Path(name).exists()  # removed on close


def test_two_spools_of_the_same_bytes_differ_on_disk(tmp_path: Path) -> None:
    a, b = EncryptedSpool(tmp_path), EncryptedSpool(tmp_path)
    with a, b:
        a.write(MARKER * 10)
        b.write(MARKER * 10)
        a.flush()
        b.flush()
        assert Path(a.name).read_bytes() != Path(b.name).read_bytes()


def test_spooled_file_keeps_memory_then_spills_ciphertext_only(tmp_path: Path) -> None:
    data = MARKER * 400  # ~10 KB, written line by line as the redaction does
    with SpooledEncryptedFile(4096, tmp_path, suffix=".redacted") as f:
        f.write(data[:4000])
        assert not f.rolled and not list(tmp_path.iterdir())  # within the bound: memory only
        f.seek(10)
        assert f.read(5) == data[10:15]
        f.seek(4000)
        for i in range(4000, len(data), 25):
            f.write(data[i:i + 25])
        assert f.rolled and f.tell() == len(data)
        f.flush()
        (spilled,) = tmp_path.iterdir()
        assert spilled.name.endswith(".redacted")
        on_disk = spilled.read_bytes()
        assert len(on_disk) == len(data) and MARKER not in on_disk
        assert f.seek(0, io.SEEK_END) == len(data)
        f.seek(0)
        assert f.read() == data
        f.seek(3990)
        buf = bytearray(20)
        assert f.readinto(buf) == 20 and bytes(buf) == data[3990:4010]
        with pytest.raises(io.UnsupportedOperation):
            f.fileno()
    assert not list(tmp_path.iterdir())


def test_spooled_file_rolls_over_keeping_the_position(tmp_path: Path) -> None:
    with SpooledEncryptedFile(1 << 20, tmp_path) as f:
        f.write(b"abcdef")
        f.seek(2)
        f.rollover()
        assert f.rolled and f.tell() == 2
        f.write(b"XY")
        f.seek(0)
        assert f.read() == b"abXYef"
