"""Encryption at rest, as the byte door uses it: which repositories are encrypted, the process's
master keyring, and each repository's data keys (`RepoKey`, stored wrapped).

The cryptography itself is `repos.objects.crypto` (pure); this module adds Django (settings,
the `RepoKey` table) and turns key and decryption failures into HubErrors at the door:
`EncryptionKeyUnavailable` (503) when a key cannot be loaded or unwrapped, and
`EncryptedObjectUnreadable` (503) when stored bytes fail authentication. Neither ever yields
a byte of guessed plaintext.

Rules:
- A repository's LFS objects are encrypted when it is private or opted in (`encrypt_objects`).
- Data keys are wrapped bound to the repository's `storage_key` (never renamed), so a wrapped
  key copied to another repository's row does not unwrap.
- Unwrapped data keys are cached per process, keyed by the wrapped text: re-wrapping under a
  new master key (`rotate_master_key`) changes the text, never the data key.
- Stores shared by every repository (Xet xorbs, `repos.objects.xet`) have data keys of their
  own (`StoreKey`, wrapped bound to `store:<name>`), re-wrapped by the same rotation.
- Other 32-byte secrets kept in the database (a dataset's pseudonym key) are wrapped the same
  way (`wrap_secret`/`unwrap_secret`, bound to a name of the caller's choosing); the app that
  keeps them registers them (`register_wrapped_secrets`, from its AppConfig.ready: repos imports
  no app above it) so the rotation re-wraps them too. Unlike `seal_derived`, they survive a
  change of the repository's data key (`reencrypt_objects --new-data-key`).
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from hub.exceptions import EncryptedObjectUnreadable, EncryptionKeyUnavailable
from repos.models import RepoKey, Repository, StoreKey
from repos.objects.crypto.errors import CryptoError, DecryptionError, KeyMaterialError, UnknownMasterKey, UnwrapError
from repos.objects.crypto.keys import DataKey, Keyring, WrappedKey, generate_data_key, load_keyring

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_keyrings: dict[tuple[object, ...], Keyring] = {}
_data_keys: dict[tuple[str, str], DataKey] = {}


def repo_encrypted(repo: Repository) -> bool:
    """Whether new LFS objects of `repo` are stored encrypted."""
    return bool(repo.private or repo.encrypt_objects)


def _config() -> tuple[object, ...]:
    return (settings.HUB_MASTER_KEY, settings.HUB_MASTER_KEY_PREVIOUS, settings.HUB_MASTER_KEY_FILE,
            settings.HUB_MASTER_KEY_GENERATE, str(settings.DATA_DIR))


def keyring() -> Keyring:
    """The master keyring of this process (loaded once per configuration). Raises
    EncryptionKeyUnavailable with the reason when no usable master key is configured."""
    config = _config()
    with _lock:
        found = _keyrings.get(config)
        if found is not None:
            return found
        env_value, env_previous, key_file, generate, data_dir = config
        try:
            loaded = load_keyring(env_value=env_value,  # type: ignore[arg-type]
                                  env_previous=env_previous,  # type: ignore[arg-type]
                                  key_file=Path(str(key_file)) if key_file else None,
                                  data_dir=Path(str(data_dir)), generate=bool(generate), env_name="HUB_MASTER_KEY")
        except KeyMaterialError as exc:
            logger.error("encryption at rest: no usable master key: %s", exc)
            raise EncryptionKeyUnavailable(f"EncryptionKeyUnavailable: {exc}") from None
        _keyrings.clear()
        _keyrings[config] = loaded
        return loaded


def forget_keys() -> None:
    """Drop the cached keyring and data keys (after a rotation, and in tests)."""
    with _lock:
        _keyrings.clear()
        _data_keys.clear()


def _unwrap(binding: str, row: RepoKey | StoreKey, owner: object) -> DataKey:
    """The data key of `row`, wrapped bound to `binding` (a repository's storage key, or
    `store:<name>`); `owner` names it in logs."""
    what = "this repository's data key" if isinstance(row, RepoKey) else "the shared store's data key"
    return _unwrap_text(binding, row.wrapped, what=what, name=f"data key {row.key_id}", owner=owner)


def _unwrap_text(binding: str, text: str, *, what: str, name: str, owner: object) -> DataKey:
    """The key wrapped in `text`, bound to `binding`; `what` and `name` word the errors, `owner`
    names it in logs."""
    cache_key = (binding, text)
    found = _data_keys.get(cache_key)
    if found is not None:
        return found
    try:
        wrapped = WrappedKey.from_text(text)
    except CryptoError as exc:
        raise EncryptionKeyUnavailable(f"EncryptionKeyUnavailable: {name}: {exc}") from None
    ring = keyring()
    if wrapped.master_fingerprint not in ring.fingerprints:
        # Another process rotated the key file (`rotate_master_key`): read it again, once.
        with _lock:
            _keyrings.clear()
        ring = keyring()
    try:
        data_key = ring.unwrap(wrapped, repo_id=binding)
    except (UnknownMasterKey, UnwrapError) as exc:
        logger.error("encryption at rest: %s of %s cannot be unwrapped: %s", name, owner, exc)
        raise EncryptionKeyUnavailable(
            f"EncryptionKeyUnavailable: {what} does not unwrap under the configured master key(s) (wrong "
            "HUB_MASTER_KEY, or a previous key retired too early)") from None
    except CryptoError as exc:
        raise EncryptionKeyUnavailable(f"EncryptionKeyUnavailable: {exc}") from None
    with _lock:
        _data_keys[cache_key] = data_key
    return data_key


def _store_binding(name: str) -> str:
    return f"store:{name}"


def _keys_active(rows: QuerySet[RepoKey] | QuerySet[StoreKey], owned_by: dict[str, object], binding: str,
                 owner: object) -> DataKey:
    """The active key among `rows` (those `owned_by` one repository, or one store), created on
    first use."""
    row = rows.filter(active=True).first()
    if row is None:
        fresh = generate_data_key()
        wrapped = keyring().wrap(fresh, repo_id=binding).to_text()
        try:
            with transaction.atomic():
                row = rows.model.objects.create(**owned_by, key_id=fresh.key_id, wrapped=wrapped, active=True)
        except IntegrityError:  # another request created it first: use theirs
            row = rows.get(active=True)
    return _unwrap(binding, row, owner)


def _keys_lookup(rows: QuerySet[RepoKey] | QuerySet[StoreKey], binding: str, owner: object,
                 ) -> Callable[[str], DataKey]:
    def key_for(key_id: str) -> DataKey:
        row = rows.filter(key_id=key_id).first()
        if row is None:
            whose = "this repository" if isinstance(owner, Repository) else owner
            raise EncryptionKeyUnavailable(f"EncryptionKeyUnavailable: data key {key_id} of {whose} "
                                           f"is missing from the database")
        return _unwrap(binding, row, owner)

    return key_for


def active_data_key(repo: Repository) -> DataKey:
    """The data key new objects of `repo` are encrypted with (created on first use)."""
    return _keys_active(RepoKey.objects.filter(repository=repo), {"repository": repo}, repo.storage_key.hex, repo)


def data_key_lookup(repo: Repository) -> Callable[[str], DataKey]:
    """`key_for(key_id)` for the readers: the data key of `repo` named in an object's header."""
    return _keys_lookup(RepoKey.objects.filter(repository=repo), repo.storage_key.hex, repo)


def store_data_key(name: str) -> DataKey:
    """The data key new objects of the shared store `name` are encrypted with (`StoreKey`;
    created on first use)."""
    return _keys_active(StoreKey.objects.filter(name=name), {"name": name}, _store_binding(name), f"the {name} store")


def store_key_lookup(name: str) -> Callable[[str], DataKey]:
    """`key_for(key_id)` for the readers of the shared store `name`."""
    return _keys_lookup(StoreKey.objects.filter(name=name), _store_binding(name), f"the {name} store")


_SECRET_KEY_ID = "secret"


def wrap_secret(secret: bytes, *, binding: str) -> str:
    """`secret` (32 bytes) wrapped by the current master key, bound to `binding` (a name no data
    key uses, e.g. `<storage key>:pseudonym`): the text to store. Raises EncryptionKeyUnavailable
    without a master key."""
    return keyring().wrap(DataKey(key_id=_SECRET_KEY_ID, secret=secret), repo_id=binding).to_text()


def unwrap_secret(text: str, *, binding: str, what: str) -> bytes:
    """The secret of a `wrap_secret` text bound to `binding`. Raises EncryptionKeyUnavailable
    (`what` names the secret) when the master key that wrapped it is not loaded, or the text
    was altered or copied from another binding: never a wrong secret."""
    return _unwrap_text(binding, text, what=what, name=what, owner=binding).secret


@dataclass(frozen=True)
class WrappedSecrets:
    """Secrets an app above repos keeps wrapped (`wrap_secret`): `rows()` gives (pk, wrapped
    text, binding) of each, `swap(pk, old, new)` replaces one text only if it is still `old` and
    returns the rows changed."""

    name: str
    rows: Callable[[], Iterable[tuple[int, str, str]]]
    swap: Callable[[int, str, str], int]


_wrapped_secrets: dict[str, WrappedSecrets] = {}


def register_wrapped_secrets(source: WrappedSecrets) -> None:
    """Have `rewrap_data_keys` (the master-key rotation) re-wrap `source`'s secrets too."""
    _wrapped_secrets[source.name] = source


_CACHE_LABEL = b"modelhub/derived-cache/v1"


def _cache_aead(repo: Repository) -> AESGCM:
    # A key of its own per repository, derived from its active data key: sealed values become
    # unreadable (a cache miss) when the data key is replaced, and nothing else is keyed by it.
    secret = active_data_key(repo).secret
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CACHE_LABEL).derive(secret))


def seal_derived(repo: Repository, payload: bytes) -> bytes:
    """`payload` (something computed from `repo`'s content: a preview, a diff) encrypted for a
    cache on disk; `open_derived` gives it back."""
    nonce = secrets.token_bytes(12)
    return nonce + _cache_aead(repo).encrypt(nonce, payload, repo.storage_key.bytes)


def open_derived(repo: Repository, sealed: object) -> bytes | None:
    """The payload of a `seal_derived` value, or None when it is not one of `repo`'s under its
    current data key (treat as a cache miss)."""
    if not isinstance(sealed, bytes) or len(sealed) < 28:
        return None
    try:
        return _cache_aead(repo).decrypt(sealed[:12], sealed[12:], repo.storage_key.bytes)
    except InvalidTag:
        return None


@contextmanager
def crypto_errors_as_http() -> Iterator[None]:
    """Key problems -> EncryptionKeyUnavailable, failed authentication -> EncryptedObjectUnreadable
    (both logged: an operator must look)."""
    try:
        yield
    except KeyMaterialError as exc:
        logger.error("encryption at rest: %s", exc)
        raise EncryptionKeyUnavailable(f"EncryptionKeyUnavailable: {exc}") from None
    except DecryptionError as exc:
        logger.error("encryption at rest: %s", exc)
        raise EncryptedObjectUnreadable() from None


def _swap_wrapped(model: type[RepoKey] | type[StoreKey]) -> Callable[[int, str, str], int]:
    return lambda pk, old, new: model.objects.filter(pk=pk, wrapped=old).update(wrapped=new)


def rewrap_data_keys() -> tuple[int, int]:
    """Re-wrap every data key (of repositories and of shared stores) and every registered
    secret (`register_wrapped_secrets`) not wrapped by the current master key (a rotation's
    second step, repeatable); returns (re-wrapped, total). Cached data keys stay valid: the
    keys are the same."""
    ring = keyring()
    done = total = 0
    rows: list[tuple[Callable[[int, str, str], int], int, str, str]] = [
        (_swap_wrapped(RepoKey), pk, wrapped, storage_key.hex) for pk, wrapped, storage_key in
        RepoKey.objects.values_list("pk", "wrapped", "repository__storage_key").iterator()]
    rows += [(_swap_wrapped(StoreKey), pk, wrapped, _store_binding(name))
             for pk, wrapped, name in StoreKey.objects.values_list("pk", "wrapped", "name")]
    for source in _wrapped_secrets.values():
        rows += [(source.swap, pk, wrapped, binding) for pk, wrapped, binding in source.rows()]
    for swap, pk, text, binding in rows:
        total += 1
        wrapped = WrappedKey.from_text(text)
        if not ring.needs_rewrap(wrapped):
            continue
        try:
            fresh = ring.rewrap(wrapped, repo_id=binding)
        except (UnknownMasterKey, UnwrapError) as exc:
            raise EncryptionKeyUnavailable(f"EncryptionKeyUnavailable: {exc}") from None
        # Compare-and-swap: a concurrent rotation run re-wrapped it already.
        done += swap(pk, text, fresh.to_text())
    return done, total
