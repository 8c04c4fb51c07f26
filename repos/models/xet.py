"""Xet storage: xorbs, registered files, and which repositories may use them (XET.md §5.4).

Bytes live behind the byte door (`repos.objects.xet`); these rows are its index. Every hash is
stored in the API string form (`repos.xet.hashes.MerkleHash.hex()`), 64 lowercase hex.

Provenance, as for LFS objects (`RepoLfsObject`): a xorb or a file is usable through a
repository only if it was uploaded or registered *for that repository* (or, for dedup, for a
repository the uploader may read). Knowing a hash gives nothing.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone


class XetXorb(models.Model):
    """A stored, verified xorb: chunk records (as uploaded) followed by our own v1 footer."""

    hash = models.CharField(max_length=64, primary_key=True)
    num_chunks = models.PositiveIntegerField()
    # Bytes of the chunk records (what fetch URLs may serve); the stored object adds the footer.
    serialized_length = models.BigIntegerField()
    uncompressed_length = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # Last upload of it or last dedup answer naming it: garbage collection spares a xorb that
    # no file uses for a grace period after this, since a client may still reference it.
    touched_at = models.DateTimeField(default=timezone.now, db_index=True)


class RepoXetXorb(models.Model):
    """A xorb uploaded with a write token of `repository` (the uploader sent all its bytes)."""

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="xet_xorbs")
    xorb = models.ForeignKey(XetXorb, on_delete=models.CASCADE, related_name="repositories")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "xorb"], name="uniq_repo_xet_xorb")]


class XetFile(models.Model):
    """A verified Xet file: its file hash, the sha256 of its bytes (the LFS oid it was
    materialized as) and its reconstruction terms, `[[xorb hash, chunk start, chunk end,
    bytes], ...]` in file order. Verified once (XET.md §5.2); immutable after."""

    file_hash = models.CharField(max_length=64, primary_key=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    segments = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)


class XetFileXorb(models.Model):
    """A xorb a file's segments read from: what garbage collection must keep."""

    file = models.ForeignKey(XetFile, on_delete=models.CASCADE, related_name="xorb_refs")
    xorb = models.ForeignKey(XetXorb, on_delete=models.PROTECT, related_name="file_refs")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "xorb"], name="uniq_xet_file_xorb")]


class RepoXetFile(models.Model):
    """A file registered by a shard uploaded with a write token of `repository`: readers of the
    repository may reconstruct it, and its sha256 object is linked there too."""

    repository = models.ForeignKey("repos.Repository", on_delete=models.CASCADE, related_name="xet_files")
    file = models.ForeignKey(XetFile, on_delete=models.CASCADE, related_name="repositories")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "file"], name="uniq_repo_xet_file")]


class XetDedupChunk(models.Model):
    """A global-dedup entry: chunk `chunk_hash` is chunk `chunk_index` of `xorb` (first chunks
    of files, and chunks whose hash is 0 mod 1024)."""

    chunk_hash = models.CharField(max_length=64)
    xorb = models.ForeignKey(XetXorb, on_delete=models.CASCADE, related_name="dedup_chunks")
    chunk_index = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chunk_hash", "xorb"], name="uniq_xet_dedup_chunk")]
        indexes = [models.Index(fields=["chunk_hash"])]


class XetShard(models.Model):
    """An accepted shard upload, stored as sent (audit, and a way to rebuild the index)."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    repository = models.ForeignKey("repos.Repository", null=True, on_delete=models.SET_NULL,
                                   related_name="xet_shards")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
