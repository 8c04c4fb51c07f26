"""The pseudonym key of a dataset is stored only wrapped by the master key (issue 12): the
database holds no plain secret, the pseudonyms stay the same through a master-key rotation and
a data-key change, and a missing or wrong master key is the hub's EncryptionKeyUnavailable."""
from __future__ import annotations

import base64
import hashlib
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from hub.exceptions import EncryptionKeyUnavailable
from repos.models import RepoKey, Repository
from repos.objects.encryption import forget_keys
from safety.dataset_reports import pseudonym_secret
from safety.models import DatasetPrivacy
from safety.redaction import Replacer
from tests.factories import RepositoryFactory, commit
from tests.master_keys import KEY_A, KEY_B

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("env_master_key")]

EMAIL = "jane.doe@example.org"



@pytest.fixture
def dataset(alice) -> Repository:
    return RepositoryFactory(owner=alice, name=f"d-{uuid.uuid4().hex[:8]}", repo_type="dataset", private=True)


def pseudonym(repo: Repository) -> str:
    return Replacer("pseudonym", pseudonym_secret(repo))("EMAIL_ADDRESS", EMAIL)


def stored_row(repo: Repository) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {DatasetPrivacy._meta.db_table} WHERE repository_id = %s", [repo.pk])
        return cursor.fetchone()


def test_the_database_holds_the_secret_wrapped_only(dataset: Repository, alice) -> None:
    secret = pseudonym_secret(dataset)
    assert len(secret) == 32 and pseudonym_secret(dataset) == secret  # made once, then the same
    row = " ".join(str(value) for value in stored_row(dataset))
    for form in (secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(),
                 base64.urlsafe_b64encode(secret).decode().rstrip("=")):
        assert form not in row
    assert DatasetPrivacy.objects.get(repository=dataset).pseudonym_secret_wrapped.startswith("mhwk1.")
    other = RepositoryFactory(owner=alice, name="other", repo_type="dataset")
    assert pseudonym_secret(other) != secret  # unlinkable across repositories


def test_pseudonyms_survive_a_master_key_rotation_and_a_new_data_key(dataset: Repository, settings) -> None:
    before = pseudonym(dataset)
    wrapped = DatasetPrivacy.objects.get(repository=dataset).pseudonym_secret_wrapped
    settings.HUB_MASTER_KEY, settings.HUB_MASTER_KEY_PREVIOUS = KEY_B, KEY_A
    forget_keys()
    call_command("rotate_master_key", stdout=StringIO())
    rewrapped = DatasetPrivacy.objects.get(repository=dataset).pseudonym_secret_wrapped
    assert rewrapped != wrapped and rewrapped.split(".")[1] != wrapped.split(".")[1]  # another master key
    settings.HUB_MASTER_KEY_PREVIOUS = None  # the old key retired
    forget_keys()
    assert pseudonym(dataset) == before

    commit(dataset, lfs={"data.jsonl": b'{"a": 1}\n'})
    old_key = RepoKey.objects.get(repository=dataset, active=True).key_id
    call_command("reencrypt_objects", dataset.repo_id, "--type", "dataset", "--new-data-key", stdout=StringIO())
    assert RepoKey.objects.get(repository=dataset, active=True).key_id != old_key
    forget_keys()
    assert pseudonym(dataset) == before


def test_a_missing_or_wrong_master_key_is_the_clear_error(dataset: Repository, alice, settings) -> None:
    pseudonym_secret(dataset)
    settings.HUB_MASTER_KEY = KEY_B  # not the key that wrapped it
    forget_keys()
    with pytest.raises(EncryptionKeyUnavailable, match="pseudonym key does not unwrap"):
        pseudonym_secret(dataset)
    settings.HUB_MASTER_KEY = None  # no key at all
    forget_keys()
    with pytest.raises(EncryptionKeyUnavailable):
        pseudonym_secret(dataset)

    settings.HUB_MASTER_KEY = KEY_A
    forget_keys()
    other = RepositoryFactory(owner=alice, name="copied", repo_type="dataset")
    DatasetPrivacy.objects.create(repository=other, pseudonym_secret_wrapped=DatasetPrivacy.objects.get(
        repository=dataset).pseudonym_secret_wrapped)  # a wrapped secret copied to another repository
    with pytest.raises(EncryptionKeyUnavailable):
        pseudonym_secret(other)


@pytest.mark.django_db(transaction=True)
def test_the_migration_wraps_existing_plain_secrets_as_they_are(alice) -> None:
    from django.db.migrations.executor import MigrationExecutor

    repo = RepositoryFactory(owner=alice, name=f"m-{uuid.uuid4().hex[:8]}", repo_type="dataset")
    plain = hashlib.sha256(b"an existing secret").hexdigest()
    executor = MigrationExecutor(connection)
    executor.migrate([("safety", "0004_datasetreport_path_digest")])
    old = executor.loader.project_state([("safety", "0004_datasetreport_path_digest")]).apps
    old.get_model("safety", "DatasetPrivacy").objects.create(repository_id=repo.pk, pseudonym_secret=plain)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([("safety", "0005_seal_pseudonym_secrets")])
        assert plain not in " ".join(str(value) for value in stored_row(repo))
        assert pseudonym_secret(repo) == bytes.fromhex(plain)  # the same key: the same pseudonyms
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        leaves = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "safety"]
        executor.migrate(leaves)
