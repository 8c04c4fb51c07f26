"""`repo_get_by_id` returns exactly what the ORM's `get` on the unique key returns."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from repos.models import Repository
from repos.selectors.repo_info import repo_get_by_id
from tests.factories import seeded_model

pytestmark = pytest.mark.django_db


def test_same_row_and_values_as_the_orm(alice):
    repo = seeded_model(alice).repo
    Repository.objects.filter(pk=repo.pk).update(card_data={"license": "mit", "nested": [1, {"a": None}]},
                                                 tags=["bert", "é"], gated="auto")
    expected = Repository.objects.get(repo_type="model", namespace="alice", name="tiny-bert")
    with CaptureQueriesContext(connection) as queries:
        found = repo_get_by_id(repo_type="model", namespace="alice", name="tiny-bert")
    assert len(queries.captured_queries) == 1
    assert found is not None and found.pk == expected.pk
    for field in Repository._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    assert found.repo_id == "alice/tiny-bert" and found.git_dir == expected.git_dir


def test_no_match_is_none_and_exact(alice):
    seeded_model(alice)
    assert repo_get_by_id(repo_type="dataset", namespace="alice", name="tiny-bert") is None
    assert repo_get_by_id(repo_type="model", namespace="alice", name="Tiny-Bert") is None
    assert repo_get_by_id(repo_type="model", namespace="alice", name="tiny-bert%") is None
    assert repo_get_by_id(repo_type="model", namespace="alice", name="x' OR '1'='1") is None
