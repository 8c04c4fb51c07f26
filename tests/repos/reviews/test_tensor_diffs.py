"""Tensor diffs of pull requests through the byte door: LFS weight files (unsharded and
sharded) committed with the real commit service, diffed by the API and the page, checked
against numpy; the cache per pair of contents; the worker path with its progress; hostile
files give a clear error, never a 500."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save

from repos.models import TensorDiff
from repos.services.commits import AddFile, AddLfsFile, CommitHeader, commit_create
from tests.factories import auth

pytestmark = pytest.mark.django_db(transaction=True)

RNG = np.random.default_rng(7)


def base_weights() -> dict[str, np.ndarray]:
    return {
        "embeddings.word.weight": RNG.standard_normal((16, 8)).astype(np.float32),
        "encoder.layer.0.dense.weight": RNG.standard_normal((8, 8)).astype(np.float32),
        "encoder.layer.0.dense.bias": RNG.standard_normal(8).astype(np.float32),
        "encoder.layer.1.dense.weight": RNG.standard_normal((8, 8)).astype(np.float16),
        "encoder.layer.1.dense.bias": RNG.standard_normal(8).astype(np.float16),
        "head.weight": RNG.standard_normal((4, 8)).astype(np.float32),
    }


def fine_tuned(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two layers fine-tuned: layer 0's weight (fp32) and layer 1's weight (fp16)."""
    out = {k: v.copy() for k, v in weights.items()}
    out["encoder.layer.0.dense.weight"][:2] += np.float32(0.25)
    out["encoder.layer.1.dense.weight"] = (out["encoder.layer.1.dense.weight"] * np.float16(1.5)).astype(np.float16)
    return out


def lfs_op(repo, upload_lfs, path: str, data: bytes) -> AddLfsFile:
    return AddLfsFile(path, upload_lfs(repo, data), len(data))


def _api(repo, spec="main...refs%2Fpr%2F1", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/models/{repo.repo_id}/tensor-diff/{spec}" + (f"?{query}" if query else "")


def _open_pr(repo, user, ops):
    return commit_create(repo=repo, user=user, revision="main", header=CommitHeader(summary="Fine-tune"),
                         operations=ops, create_pr=True)


def test_unsharded_pr_shows_exactly_the_fine_tuned_tensors(client, repo, alice, bob, upload_lfs, tokens):
    weights = base_weights()
    tuned = fine_tuned(weights)
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="weights"),
                  operations=[lfs_op(repo, upload_lfs, "model.safetensors", save(weights)),
                              AddFile("config.json", b'{"hidden_size": 8, "layers": 2}\n')])
    _open_pr(repo, bob, [lfs_op(repo, upload_lfs, "model.safetensors", save(tuned)),
                         AddFile("config.json", b'{"hidden_size": 8, "layers": 2, "lr": 0.1}\n')])
    r = client.get(_api(repo))
    assert r.status_code == 200, r.content
    [item] = r.json()["checkpoints"]
    assert item["state"] == "done" and item["complete"] and item["path"] == "model.safetensors"
    rows = {row["name"]: row for row in item["result"]["tensors"]}
    changed = sorted(name for name, row in rows.items() if row["status"] != "unchanged")
    assert changed == ["encoder.layer.0.dense.weight", "encoder.layer.1.dense.weight"]
    for name in changed:
        a, b = weights[name].astype(np.float64), tuned[name].astype(np.float64)
        stats = rows[name]["stats"]
        assert stats["max_abs_diff"] == pytest.approx(float(np.max(np.abs(a - b))), rel=1e-6)
        assert stats["changed_elements"] == int(np.count_nonzero(a != b))
        assert stats["rel_l2"] == pytest.approx(float(np.linalg.norm(a - b) / np.linalg.norm(a)), rel=1e-6)
    modules = {m["name"]: m for m in item["result"]["modules"]}
    assert modules["encoder.layer.0"]["differing"] == 1 and modules["encoder.layer.0"]["tensors"] == 2
    # Cached per pair of contents: one row, served again without recomputing.
    assert TensorDiff.objects.count() == 1 and TensorDiff.objects.get().state == "done"
    assert client.get(_api(repo)).json()["checkpoints"][0]["result"] == item["result"]

    # The PR page shows the same, with the structured config change and the PR's files.
    page = client.get(f"/{repo.repo_id}/discussions/1/files")
    html = page.content.decode()
    assert page.status_code == 200
    assert "2 of 6 tensors differ" in html
    assert 'data-tensor="encoder.layer.0.dense.weight"' in html and 'data-tensor="head.weight"' not in html
    assert "lr" in html and "0.1" in html  # config.json as a key change
    compare = client.get(f"/api/models/{repo.repo_id}/compare/main...refs%2Fpr%2F1").json()
    assert compare["structured"][0]["keys"] == [{"key": "lr", "status": "added", "old": "", "new": "0.1"}]
    assert compare["checkpoints"] == [{"kind": "single", "oldPath": "model.safetensors",
                                       "newPath": "model.safetensors"}]


def _sharded_files(shards: list[dict[str, np.ndarray]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    weight_map = {}
    for i, tensors in enumerate(shards, start=1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        files[name] = save(tensors)
        weight_map.update(dict.fromkeys(tensors, name))
    files["model.safetensors.index.json"] = json.dumps({"metadata": {}, "weight_map": weight_map}).encode()
    return files


def test_sharded_pr_through_the_byte_door(client, repo, alice, bob, upload_lfs):
    weights = base_weights()
    names = sorted(weights)
    first = {n: weights[n] for n in names[:3]}
    second = {n: weights[n] for n in names[3:]}
    before = _sharded_files([first, second])
    tuned = dict(second)
    tuned["head.weight"] = tuned["head.weight"] + np.float32(1)
    after = _sharded_files([first, {**tuned, "head.extra": np.ones(3, np.float32)}])

    def ops(files):
        return [lfs_op(repo, upload_lfs, k, v) if k.endswith(".safetensors") else AddFile(k, v)
                for k, v in files.items()]

    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="sharded"),
                  operations=ops(before))
    _open_pr(repo, bob, ops(after))
    [item] = client.get(_api(repo)).json()["checkpoints"]
    assert item["kind"] == "sharded" and item["path"] == "model.safetensors.index.json"
    assert item["state"] == "done"
    statuses = {row["name"]: row["status"] for row in item["result"]["tensors"]}
    assert statuses["head.weight"] == "changed" and statuses["head.extra"] == "added"
    assert {n for n, s in statuses.items() if s not in ("unchanged",)} == {"head.weight", "head.extra"}


@pytest.mark.parametrize("hostile", ["huge_length", "overlap", "bad_dtype", "non_utf8"])
def test_hostile_safetensors_give_a_clear_error(client, repo, alice, bob, upload_lfs, hostile):
    good = save(base_weights())
    header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    bad = {
        "huge_length": struct.pack("<Q", 2**62) + b"{}",
        "overlap": struct.pack("<Q", len(json.dumps(header))) + json.dumps(header).encode() + bytes(12),
        "bad_dtype": (lambda h: struct.pack("<Q", len(h)) + h + bytes(8))(
            json.dumps({"a": {"dtype": "Q99", "shape": [2], "data_offsets": [0, 8]}}).encode()),
        "non_utf8": struct.pack("<Q", 4) + b"\xff\xfe{}",
    }[hostile]
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="w"),
                  operations=[lfs_op(repo, upload_lfs, "model.safetensors", good)])
    _open_pr(repo, bob, [lfs_op(repo, upload_lfs, "model.safetensors", bad)])
    r = client.get(_api(repo))
    assert r.status_code == 200
    [item] = r.json()["checkpoints"]
    assert item["state"] == "invalid" and "cannot be compared" in item["error"] and "new" in item["error"]
    page = client.get(f"/{repo.repo_id}/discussions/1/files")
    assert page.status_code == 200 and "cannot be compared" in page.content.decode()


def test_large_pairs_go_to_the_worker_and_are_cached_only_when_complete(client, repo, alice, bob, upload_lfs,
                                                                          settings, monkeypatch):
    from repos import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.tensor_diff, "delay", queued.append)
    settings.HUB_TENSOR_DIFF_INLINE_BYTES = 0
    weights = base_weights()
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="w"),
                  operations=[lfs_op(repo, upload_lfs, "model.safetensors", save(weights))])
    _open_pr(repo, bob, [lfs_op(repo, upload_lfs, "model.safetensors", save(fine_tuned(weights)))])
    [item] = client.get(_api(repo)).json()["checkpoints"]
    # Header facts at once; numbers pending.
    assert item["state"] == "queued" and not item["complete"] and item["progress"]["total"] > 0
    assert {r["status"] for r in item["result"]["tensors"]} == {"not_compared"}
    row = TensorDiff.objects.get()
    assert row.result is None and queued == [row.pk]
    page = client.get(f"/{repo.repo_id}/discussions/1/files").content.decode()
    assert "data-poll=" in page and "<progress" in page
    # A second view does not queue it again.
    client.get(_api(repo))
    assert queued == [row.pk]
    tasks.tensor_diff(row.pk)  # what the worker runs
    row.refresh_from_db()
    assert row.state == "done" and row.bytes_done == row.bytes_total > 0
    [item] = client.get(_api(repo)).json()["checkpoints"]
    assert item["state"] == "done"
    assert sorted(r["name"] for r in item["result"]["tensors"] if r["status"] == "changed") == [
        "encoder.layer.0.dense.weight", "encoder.layer.1.dense.weight"]


def test_an_interrupted_inline_diff_is_not_cached(client, repo, alice, bob, upload_lfs, settings, monkeypatch):
    from repos import tasks

    monkeypatch.setattr(tasks.tensor_diff, "delay", lambda pk: None)
    settings.HUB_TENSOR_DIFF_INLINE_SECONDS = -1  # the deadline has passed before the first chunk
    weights = base_weights()
    commit_create(repo=repo, user=alice, revision="main", header=CommitHeader(summary="w"),
                  operations=[lfs_op(repo, upload_lfs, "model.safetensors", save(weights))])
    _open_pr(repo, bob, [lfs_op(repo, upload_lfs, "model.safetensors", save(fine_tuned(weights)))])
    [item] = client.get(_api(repo)).json()["checkpoints"]
    assert item["state"] == "queued"
    assert TensorDiff.objects.get().result is None


def test_gated_repos_keep_tensor_diffs_for_granted_users(client, repo, alice, bob, upload_lfs, tokens):
    from repos.models import Repository

    repo.gated = Repository.Gated.MANUAL
    repo.save(update_fields=["gated"])
    r = client.get(_api(repo), **auth(tokens["bob"]))
    assert r.status_code == 403 and r["X-Error-Code"] == "GatedRepo"
