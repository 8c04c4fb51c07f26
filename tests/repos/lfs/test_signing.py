import pytest

from repos.lfs.signing import sign_upload, verify_upload

SECRET = b"s3cret-key-for-tests"
OID = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
BASE = {"repo_key": "models/acme/tiny-bert", "oid": OID, "size": 1024, "expires_at": 1_767_225_600}


def test_signature_is_stable_hex() -> None:
    sig = sign_upload(SECRET, **BASE)
    assert sig == sign_upload(SECRET, **BASE)
    assert len(sig) == 64 and int(sig, 16) >= 0 and sig == sig.lower()


def test_valid_until_expiry() -> None:
    sig = sign_upload(SECRET, **BASE)
    assert verify_upload(SECRET, **BASE, signature=sig, now=BASE["expires_at"] - 1)
    assert not verify_upload(SECRET, **BASE, signature=sig, now=BASE["expires_at"])
    assert not verify_upload(SECRET, **BASE, signature=sig, now=BASE["expires_at"] + 3600)


@pytest.mark.parametrize(
    "change",
    [
        {"repo_key": "models/acme/other"},
        {"oid": "a" * 64},
        {"size": 1025},
        {"expires_at": BASE["expires_at"] + 86400},  # extending the expiry invalidates it
    ],
)
def test_any_changed_field_invalidates(change: dict[str, object]) -> None:
    sig = sign_upload(SECRET, **BASE)
    params = {**BASE, **change}
    assert not verify_upload(SECRET, **params, signature=sig, now=0)  # type: ignore[arg-type]


def test_wrong_secret_and_malformed_signatures() -> None:
    sig = sign_upload(SECRET, **BASE)
    assert not verify_upload(b"other", **BASE, signature=sig, now=0)
    for bad in ["", sig[:-1], sig.upper(), "é" * 64, sig + "0", None, 123]:
        assert not verify_upload(SECRET, **BASE, signature=bad, now=0)  # type: ignore[arg-type]


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        sign_upload(b"", **BASE)
    assert not verify_upload(b"", **BASE, signature="0" * 64, now=0)
