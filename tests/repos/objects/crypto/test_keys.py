"""Master keys (parsing, key files, loading order, clear errors), the data-key envelope, and
master-key rotation through a keyring."""
from __future__ import annotations

import base64
import io
import logging
import os
import stat

import pytest

from repos.objects.crypto.errors import (
    KeyFileLocationError,
    KeyMaterialError,
    MasterKeyInvalid,
    MasterKeyMissing,
    UnknownMasterKey,
    UnwrapError,
    WrappedKeyInvalid,
)
from repos.objects.crypto.format import EncryptedReader, encrypt_stream
from repos.objects.crypto.keys import (
    DataKey,
    Keyring,
    MasterKey,
    WrappedKey,
    generate_data_key,
    generate_key_file,
    generate_master_key,
    load_keyring,
    parse_master_key,
    read_key_file,
    rewrap,
    unwrap_data_key,
    wrap_data_key,
    write_key_file,
)

SECRET = bytes(range(1, 33))
HEX = SECRET.hex()
B64 = base64.b64encode(SECRET).decode()
B64URL_NOPAD = base64.urlsafe_b64encode(SECRET).decode().rstrip("=")


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("text", [HEX, HEX.upper(), B64, B64URL_NOPAD, f"  {B64}\n"])
def test_master_key_accepts_hex_and_base64(text):
    assert parse_master_key(text, origin="test").secret == SECRET


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "is empty"),
        ("   ", "is empty"),
        (HEX[:-2], "decodes to"),  # 62 hex characters: read as base64, wrong length
        (base64.b64encode(SECRET[:16]).decode(), "decodes to 16 bytes"),
        (base64.b64encode(SECRET + b"x").decode(), "decodes to 33 bytes"),
        ("not a key!", "neither 64 hex characters nor base64"),
        ("é" * 44, "neither 64 hex characters nor base64"),
        ("A" * 500, "500 characters long"),
        ("0" * 64, "placeholder"),
        (base64.b64encode(b"\x07" * 32).decode(), "placeholder"),
        ("abcde", "not valid base64"),
        ("abc=def", "neither 64 hex characters nor base64"),
    ],
)
def test_bad_master_keys_say_what_is_wrong_without_echoing_the_value(text, expected):
    with pytest.raises(KeyMaterialError) as info:
        parse_master_key(text, origin="environment variable HUB_MASTER_KEY")
    message = str(info.value)
    assert expected in message
    assert "HUB_MASTER_KEY" in message
    if len(text.strip()) > 3:
        assert text.strip() not in message


def test_keys_never_show_their_secret():
    master, data = MasterKey(SECRET), DataKey(key_id="k", secret=SECRET)
    for text in (repr(master), str(master), repr(data), str(data), repr(Keyring(master))):
        assert HEX not in text and B64 not in text and str(SECRET) not in text
    assert master.fingerprint in repr(master)


def test_fingerprint_is_stable_and_distinct():
    assert MasterKey(SECRET).fingerprint == MasterKey(bytes(SECRET)).fingerprint
    assert MasterKey(SECRET).fingerprint != generate_master_key().fingerprint
    assert len(MasterKey(SECRET).fingerprint) == 16


def test_data_key_ids_are_validated():
    for bad in ("", "a.b", "x" * 65, "ü", "a b"):
        with pytest.raises(ValueError):
            DataKey(key_id=bad, secret=SECRET)
    with pytest.raises(ValueError):
        DataKey(key_id="ok", secret=SECRET[:16])
    key = generate_data_key()
    assert len(key.secret) == 32 and len(key.key_id) == 16
    assert generate_data_key().key_id != key.key_id


# ---------------------------------------------------------------- wrapping


def test_wrap_unwrap_round_trip_through_text():
    master, data = generate_master_key(), generate_data_key()
    text = wrap_data_key(data, master=master, repo_id="42").to_text()
    assert text.startswith(f"mhwk1.{master.fingerprint}.{data.key_id}.")
    assert data.secret.hex() not in text
    back = unwrap_data_key(WrappedKey.from_text(text), master=master, repo_id="42")
    assert (back.key_id, back.secret) == (data.key_id, data.secret)


def test_wrapping_is_randomized():
    master, data = generate_master_key(), generate_data_key()
    assert wrap_data_key(data, master=master, repo_id="1") != wrap_data_key(data, master=master, repo_id="1")


def test_unwrap_fails_for_another_repo_key_id_master_or_an_edit():
    master, data = generate_master_key(), generate_data_key()
    wrapped = wrap_data_key(data, master=master, repo_id="repo-1")
    with pytest.raises(UnwrapError, match="repo-2"):
        unwrap_data_key(wrapped, master=master, repo_id="repo-2")
    relabelled = WrappedKey(master_fingerprint=wrapped.master_fingerprint, key_id="otherid", blob=wrapped.blob)
    with pytest.raises(UnwrapError):
        unwrap_data_key(relabelled, master=master, repo_id="repo-1")
    with pytest.raises(UnwrapError, match="not by"):
        unwrap_data_key(wrapped, master=generate_master_key(), repo_id="repo-1")
    # The right fingerprint on the wrong key material (e.g. a forged fingerprint).
    impostor = generate_master_key()
    forged = WrappedKey(master_fingerprint=impostor.fingerprint, key_id=data.key_id, blob=wrapped.blob)
    with pytest.raises(UnwrapError):
        unwrap_data_key(forged, master=impostor, repo_id="repo-1")
    for position in (0, 12, len(wrapped.blob) - 1):
        blob = bytearray(wrapped.blob)
        blob[position] ^= 1
        edited = WrappedKey(master_fingerprint=wrapped.master_fingerprint, key_id=data.key_id, blob=bytes(blob))
        with pytest.raises(UnwrapError):
            unwrap_data_key(edited, master=master, repo_id="repo-1")


@pytest.mark.parametrize(
    "text",
    ["", "mhwk1", "mhwk2.0123456789abcdef.k.AAAA", "mhwk1.0123456789ABCDEF.k.AAAA", "mhwk1.0123456789abcdef.k.AAAA",
     "mhwk1.0123456789abcdef.k.k.AAAA", "mhwk1.0123456789abcdef.k." + "A" * 80 + "!", "x" * 1000],
)
def test_malformed_wrapped_key_text(text):
    with pytest.raises(WrappedKeyInvalid):
        WrappedKey.from_text(text)


def test_rewrap_keeps_objects_readable_and_retires_the_old_master():
    old, new, data = generate_master_key(), generate_master_key(), generate_data_key()
    stored = wrap_data_key(data, master=old, repo_id="7")
    blob = io.BytesIO()
    encrypt_stream(io.BytesIO(b"model weights" * 1000), blob, data_key=data, oid="o", size=13000)

    rewrapped = rewrap(stored, old, new, repo_id="7")
    assert rewrapped.master_fingerprint == new.fingerprint and rewrapped.key_id == data.key_id
    with pytest.raises(UnwrapError):
        unwrap_data_key(rewrapped, master=old, repo_id="7")
    key = unwrap_data_key(rewrapped, master=new, repo_id="7")
    blob.seek(0)
    assert EncryptedReader(blob, data_key=key, oid="o").read() == b"model weights" * 1000


def test_keyring_rotation_flow():
    data_keys = {str(repo): generate_data_key() for repo in range(5)}
    ring = Keyring(generate_master_key())
    stored = {repo: ring.wrap(key, repo_id=repo) for repo, key in data_keys.items()}

    rotated = ring.rotated()
    assert rotated.current.fingerprint != ring.current.fingerprint
    assert rotated.previous[0].fingerprint == ring.current.fingerprint
    # Between the rotation and the end of re-wrapping, both old and new values unwrap.
    stored["0"] = rotated.rewrap(stored["0"], repo_id="0")
    for repo, key in data_keys.items():
        assert rotated.unwrap(stored[repo], repo_id=repo).secret == key.secret
    assert [rotated.needs_rewrap(w) for w in stored.values()] == [False, True, True, True, True]

    for repo in stored:  # the re-wrap job; re-running it changes nothing
        stored[repo] = rotated.rewrap(stored[repo], repo_id=repo)
    again = {repo: rotated.rewrap(w, repo_id=repo) for repo, w in stored.items()}
    assert again == stored
    assert not any(rotated.needs_rewrap(w) for w in stored.values())

    retired = rotated.without(ring.current.fingerprint)
    assert retired.fingerprints == (rotated.current.fingerprint,)
    for repo, key in data_keys.items():
        assert retired.unwrap(stored[repo], repo_id=repo).secret == key.secret
    # A value not re-wrapped before retirement fails with a message that says why.
    straggler = ring.wrap(generate_data_key(), repo_id="9")
    with pytest.raises(UnknownMasterKey, match="retired"):
        retired.unwrap(straggler, repo_id="9")
    with pytest.raises(ValueError):
        retired.without(retired.current.fingerprint)


def test_keyring_deduplicates():
    a, b = generate_master_key(), generate_master_key()
    ring = Keyring(a, [b, MasterKey(a.secret), MasterKey(b.secret)])
    assert ring.fingerprints == (a.fingerprint, b.fingerprint)


# ---------------------------------------------------------------- key files and loading


def test_key_file_round_trip_is_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "keys" / "master.key"
    ring = Keyring(generate_master_key(), [generate_master_key()])
    write_key_file(path, ring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_key_file(path).fingerprints == ring.fingerprints
    with pytest.raises(FileExistsError):
        write_key_file(path, Keyring(generate_master_key()))
    assert read_key_file(path).fingerprints == ring.fingerprints
    write_key_file(path, ring.rotated(), replace=True)
    assert read_key_file(path).previous[0].fingerprint == ring.current.fingerprint
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left


def test_key_file_comments_blank_lines_and_errors_name_the_line(tmp_path):
    path = tmp_path / "k"
    path.write_text(f"# comment\n\n{B64}\n  {HEX.replace('01', '11')}  \n")
    path.chmod(0o600)
    ring = read_key_file(path)
    assert ring.current.secret == SECRET and len(ring.previous) == 1

    path.write_text(f"{B64}\nshort\n")
    with pytest.raises(MasterKeyInvalid, match=r"line 2"):
        read_key_file(path)
    path.write_text("# only a comment\n")
    with pytest.raises(MasterKeyMissing, match="contains no key"):
        read_key_file(path)
    path.write_bytes(b"\xff\xfe" + B64.encode())
    with pytest.raises(MasterKeyInvalid, match="not ASCII"):
        read_key_file(path)
    path.write_bytes(b"#" * (64 * 1024 + 10))
    with pytest.raises(MasterKeyInvalid, match="larger than"):
        read_key_file(path)
    with pytest.raises(MasterKeyMissing, match="does not exist"):
        read_key_file(tmp_path / "missing")
    with pytest.raises(MasterKeyInvalid, match="directory"):
        read_key_file(tmp_path)


def test_readable_key_file_logs_a_warning(tmp_path, caplog):
    path = tmp_path / "k"
    path.write_text(B64 + "\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="repos.objects.crypto.keys"):
        read_key_file(path)
    assert "chmod 600" in caplog.text and "644" in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="repos.objects.crypto.keys"):
        read_key_file(path)
    assert caplog.text == ""


def test_key_file_inside_the_data_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for inside in (data / "master.key", data / "sub" / "k", data):
        with pytest.raises(KeyFileLocationError, match="inside the data directory"):
            load_keyring(env_value=None, key_file=inside, data_dir=data, generate=True)
    assert list(data.iterdir()) == []
    # A symlinked path that lands inside counts as inside.
    (tmp_path / "link").symlink_to(data)
    with pytest.raises(KeyFileLocationError):
        read_key_file(tmp_path / "link" / "k", data_dir=data)


def test_generated_on_first_run_loudly_then_reused(tmp_path, caplog):
    path = tmp_path / "etc" / "master.key"
    with caplog.at_level(logging.WARNING, logger="repos.objects.crypto.keys"):
        first = load_keyring(env_value=None, key_file=path, data_dir=tmp_path / "data", generate=True)
    assert "GENERATED A NEW MASTER KEY" in caplog.text and first.current.fingerprint in caplog.text
    assert first.current.to_text() not in caplog.text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="repos.objects.crypto.keys"):
        second = load_keyring(env_value=None, key_file=path, data_dir=tmp_path / "data", generate=True)
    assert second.fingerprints == first.fingerprints
    assert "GENERATED" not in caplog.text


def test_generation_race_loads_the_winners_key(tmp_path):
    path = tmp_path / "master.key"
    winner = Keyring(generate_master_key())
    write_key_file(path, winner)
    assert generate_key_file(path).fingerprints == winner.fingerprints


def test_load_order_and_missing_key_messages(tmp_path):
    path = tmp_path / "k"
    file_ring = Keyring(generate_master_key())
    write_key_file(path, file_ring)
    other = generate_master_key()

    ring = load_keyring(env_value=other.to_text(), env_previous=f"{B64}, {HEX.replace('01', '11')}",
                        key_file=path, env_name="HUB_MASTER_KEY")
    assert ring.current.fingerprint == other.fingerprint and len(ring.previous) == 2
    assert load_keyring(env_value="", key_file=path).fingerprints == file_ring.fingerprints

    with pytest.raises(MasterKeyMissing, match="HUB_MASTER_KEY"):
        load_keyring(env_value=None, env_name="HUB_MASTER_KEY")
    with pytest.raises(MasterKeyMissing, match=r"HUB_MASTER_KEY or create the key file"):
        load_keyring(env_value=None, key_file=tmp_path / "absent", env_name="HUB_MASTER_KEY")
    assert not (tmp_path / "absent").exists()
    with pytest.raises(MasterKeyMissing, match="previous master keys are set"):
        load_keyring(env_value=None, env_previous=B64)
    with pytest.raises(MasterKeyInvalid, match="previous master key #2"):
        load_keyring(env_value=B64, env_previous=f"{HEX.replace('01', '11')} nope")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_key_file_is_a_clear_error(tmp_path):
    path = tmp_path / "k"
    path.write_text(B64)
    path.chmod(0)
    with pytest.raises(KeyMaterialError, match="permission denied"):
        read_key_file(path)
