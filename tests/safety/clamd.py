"""A real ClamAV daemon for the tests: clamd started in the foreground on a unix socket in a
temporary directory, with a database of one signature written here (no freshclam, no network).

`MARKER` is the test "virus": any file holding it is reported as `VIRUS_NAME` (clamd adds
".UNOFFICIAL" to signatures of databases it does not know). clamd's StreamMaxLength is
`STREAM_MAX_BYTES`, small, so the size-limit paths cost nothing. A missing clamd skips the
tests that need it, with the install command, except on CI (CI=true), where it fails them.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from safety.scanners.antivirus import ClamdAddress, clamd_ping
from tests.live import _missing

MARKER = b"HUB-TEST-MALWARE-MARKER-3f9c2e71"
VIRUS_NAME = "Hub.Test.Marker.UNOFFICIAL"
STREAM_MAX_BYTES = 1024 * 1024
START_SECONDS = 30.0


def clamd_program() -> str:
    found = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        _missing("clamd (ClamAV's daemon)", "apt-get install -y clamav-daemon")
    return found  # type: ignore[return-value]


@dataclass
class Clamd:
    socket: Path
    log: Path
    proc: subprocess.Popen

    @property
    def address(self) -> ClamdAddress:
        return ClamdAddress(unix_socket=str(self.socket))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@contextmanager
def running_clamd() -> Iterator[Clamd]:
    """clamd with the one-signature database; stopped (and its directory removed) on exit."""
    program = clamd_program()
    # A short path of its own: unix socket paths are limited to 107 bytes.
    work = Path(tempfile.mkdtemp(prefix="hub-clamd-"))
    db = work / "db"
    db.mkdir()
    (db / "hub-test.ndb").write_text(f"{VIRUS_NAME.removesuffix('.UNOFFICIAL')}:0:*:{MARKER.hex()}\n")
    sock, log = work / "clamd.sock", work / "clamd.log"
    (work / "tmp").mkdir()
    config = work / "clamd.conf"
    config.write_text("\n".join([
        "Foreground yes", f"LocalSocket {sock}", f"DatabaseDirectory {db}", f"TemporaryDirectory {work / 'tmp'}",
        f"LogFile {log}", f"PidFile {work / 'clamd.pid'}", f"StreamMaxLength {STREAM_MAX_BYTES}",
        "AlertExceedsMax yes", "SelfCheck 0", "",
    ]))
    proc = subprocess.Popen([program, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    clamd = Clamd(socket=sock, log=log, proc=proc)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (sock.exists() and clamd_ping(clamd.address)):
            if proc.poll() is not None or time.monotonic() > deadline:
                text = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"clamd did not start (exit {proc.poll()}):\n{text}")
            time.sleep(0.05)
        yield clamd
    finally:
        clamd.stop()
        shutil.rmtree(work, ignore_errors=True)
