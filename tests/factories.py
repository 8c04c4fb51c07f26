"""Test data, built with factory_boy through the same services the hub uses.

Every factory creates its object the way the hub would: users through `user_create`, so they
have a usable password; organizations through `org_create` (an organization always has an
admin); repositories through `repo_create`, so the bare git repository and its initial commit
exist; tokens through `token_create`; collaborators through `collaborator_set`. The LFS objects
go through the byte door (`repos.objects.ingest`), except the ones a test stores without linking
them to any repository (cross-repository tests), which go straight to the store.

    alice = UserFactory(username="alice")          # password "alice-password-1"
    acme = OrganizationFactory(name="acme", admin=alice)
    MembershipFactory(org=acme, user=bob, role="write")
    repo = RepositoryFactory(owner=alice, name="demo", private=True)
    token = TokenFactory(user=bob, role="read")     # token.secret is the key
    CollaboratorFactory(repo=repo, user=bob, role="read")
    blob = LfsObjectFactory(repo=repo, data=b"...")  # blob.oid, blob.pointer
    sha = commit(repo, files={"a.txt": b"a"}, lfs={"w.bin": b"..."}, delete=("old.txt",), ref="refs/pr/1")

`commit` writes through the git layer and refreshes the index (no push policy, no event);
`commit_service` goes through `commit_create`, for tests that want the real write path.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import factory

from accounts.models import AccessToken, Membership, Organization, User
from accounts.services.orgs import membership_add, org_create
from accounts.services.tokens import token_create
from accounts.services.users import user_create
from repos import objects
from repos.git.commit import DeleteFile, PutFile, Signature, commit_to_ref
from repos.handles import git_repo
from repos.lfs.pointer import format_pointer
from repos.models import Repository
from repos.services import commits as service_commits
from repos.services.access import collaborator_set
from repos.services.commits import CommitHeader, CommitResult, commit_create
from repos.services.index import repo_reindex
from repos.services.repos import author_signature, repo_create, repo_update_settings

# ---------------------------------------------------------------------- people


class UserFactory(factory.Factory):
    """A user who can log in: the password is "<username>-password-1" unless given, and is kept
    on the instance as `raw_password`."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.LazyAttribute(lambda u: f"{u.username}-password-1")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_admin = False

    @classmethod
    def _create(cls, model_class: type[User], *, username: str, password: str, email: str,
                is_admin: bool) -> User:
        user = user_create(username=username, password=password, email=email, is_admin=is_admin)
        user.raw_password = password
        return user


class OrganizationFactory(factory.Factory):
    """An organization created by `admin` (a new user unless given), who is its first admin."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"org{n}")
    fullname = ""
    admin = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class: type[Organization], *, name: str, fullname: str, admin: User) -> Organization:
        return org_create(user=admin, name=name, fullname=fullname)


def _an_admin_of(org: Organization) -> User:
    return Membership.objects.filter(organization=org, role=Membership.Role.ADMIN).order_by("pk").first().user


class MembershipFactory(factory.Factory):
    """`user` joins `org` with `role`, added by `actor` (by default the organization's first admin)."""

    class Meta:
        model = Membership

    org = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.READ
    actor = factory.LazyAttribute(lambda m: _an_admin_of(m.org))

    @classmethod
    def _create(cls, model_class: type[Membership], *, org: Organization, user: User, role: str,
                actor: User) -> Membership:
        return membership_add(org=org, user=user, role=role, actor=actor)


class TokenFactory(factory.Factory):
    """An access token (a write token named "test" unless told otherwise). The key, which the
    hub never stores, is on the instance as `secret`."""

    class Meta:
        model = AccessToken

    user = factory.SubFactory(UserFactory)
    name = "test"
    role = AccessToken.Role.WRITE
    expires_at = None
    scopes: Any = ()

    @classmethod
    def _create(cls, model_class: type[AccessToken], **kwargs: Any) -> AccessToken:
        token, secret = token_create(**kwargs)
        token.secret = secret
        return token


def auth(secret: str | None) -> dict[str, str]:
    """Django test client kwargs sending the token `secret` as the HF client does (none: anonymous)."""
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}


def bearer(user: User, role: str = AccessToken.Role.WRITE) -> dict[str, str]:
    """Test client kwargs with a new token of `user` (named "test")."""
    return auth(TokenFactory(user=user, role=role).secret)


# ---------------------------------------------------------------------- repositories


class RepositoryFactory(factory.Factory):
    """A repository made by `repo_create` (bare git repository, initial commit with the default
    .gitattributes, database index), in the owner's namespace unless `namespace` is given;
    `gated` ("auto" | "manual") is then set through `repo_update_settings`."""

    class Meta:
        model = Repository

    owner = factory.SubFactory(UserFactory)
    namespace = factory.LazyAttribute(lambda r: r.owner.username)
    name = factory.Sequence(lambda n: f"repo-{n}")
    repo_type = "model"
    private = False
    gated = ""

    @classmethod
    def _create(cls, model_class: type[Repository], *, owner: User, namespace: str, name: str, repo_type: str,
                private: bool, gated: str) -> Repository:
        repo = repo_create(user=owner, namespace=namespace, name=name, repo_type=repo_type, private=private)
        if gated:
            repo_update_settings(repo=repo, user=owner, gated=gated)
        return repo


@dataclass(frozen=True)
class CollaboratorGrant:
    repo: Repository
    user: User
    role: str


class CollaboratorFactory(factory.Factory):
    """`user` gets exactly `role` ("read" | "write" | "admin") on `repo`, granted by `actor`
    (by default the repository's owner), through `collaborator_set`."""

    class Meta:
        model = CollaboratorGrant

    repo = factory.SubFactory(RepositoryFactory)
    user = factory.SubFactory(UserFactory)
    role = "read"
    actor = factory.LazyAttribute(lambda g: g.repo.owner)

    @classmethod
    def _create(cls, model_class: type[CollaboratorGrant], *, repo: Repository, user: User, role: str,
                actor: User) -> CollaboratorGrant:
        collaborator_set(repo=repo, user=user, role=role, actor=actor)
        return model_class(repo=repo, user=user, role=role)


# ---------------------------------------------------------------------- LFS objects


@dataclass(frozen=True)
class LfsBlob:
    """An object in the LFS store: its content, sha256 and size, and the pointer to commit."""

    data: bytes
    oid: str
    size: int

    @property
    def pointer(self) -> bytes:
        return format_pointer(self.oid, self.size)


def lfs_pointer(data: bytes) -> bytes:
    """The pointer blob for `data`, with nothing stored (a pointer to a missing object)."""
    return format_pointer(hashlib.sha256(data).hexdigest(), len(data))


class LfsObjectFactory(factory.Factory):
    """`data` uploaded to `repo` through the byte door (`objects.ingest`: verified, run through
    the ingest filters, linked to `repo`). With no `repo`, the object is only put in the store:
    it exists, but no repository may read it (a sha256 known from elsewhere)."""

    class Meta:
        model = LfsBlob

    repo: Any = None
    data = factory.Sequence(lambda n: f"lfs object {n}\n".encode())

    @classmethod
    def _create(cls, model_class: type[LfsBlob], *, repo: Repository | None, data: bytes) -> LfsBlob:
        blob = model_class(data=data, oid=hashlib.sha256(data).hexdigest(), size=len(data))
        if repo is None:
            objects.storage_backend().write_stream(blob.oid, blob.size, [data])
        else:
            objects.ingest(repo=repo, oid=blob.oid, size=blob.size, source=[data])
        return blob


# ---------------------------------------------------------------------- commits


def _signature(repo: Repository, author: User | Signature | str | None) -> Signature:
    if author is None:
        return author_signature(repo.owner)
    if isinstance(author, Signature):
        return author
    if isinstance(author, str):
        return Signature(author, f"{author}@example.com")
    return author_signature(author)


def commit(repo: Repository, *, files: dict[str, bytes] | None = None, lfs: dict[str, bytes] | None = None,
           delete: tuple[str, ...] | list[str] = (), ref: str | None = None, message: str = "Add files",
           author: User | Signature | str | None = None, create: bool = False, link_lfs: bool = True) -> str:
    """Commit on `ref` (a branch name or a full ref such as `refs/pr/1`; the default branch
    unless given) through the git layer, refresh the database index, return the new sha.

    `files` are committed as they are; each of `lfs` is stored (uploaded to `repo`, or only put
    in the store with `link_lfs=False`) and its pointer committed; `delete` removes files.
    `create` makes a root commit on a ref that does not exist yet. `author`: a user, a
    Signature, or a name (`<name>@example.com`); by default the repository's owner. No push
    policy applies and no event is sent: this is setup, not the write path under test.
    """
    ops: list[Any] = [PutFile(path, data) for path, data in (files or {}).items()]
    for path, data in (lfs or {}).items():
        blob = LfsObjectFactory(repo=repo if link_lfs else None, data=data)
        ops.append(PutFile(path, blob.pointer))
    ops += [DeleteFile(path) for path in delete]
    git = git_repo(repo)
    sha = commit_to_ref(git, ref=ref or repo.default_branch, ops=ops, author=_signature(repo, author),
                        message=message, create=create)
    repo_reindex(repo=repo, git=git)
    return sha


def commit_service(repo: Repository, *, user: User | None = None, files: dict[str, bytes] | None = None,
                   lfs: dict[str, bytes] | None = None, delete: tuple[str, ...] | list[str] = (),
                   revision: str | None = None, summary: str = "Add files", create_pr: bool = False) -> CommitResult:
    """The same commit through `repos.services.commits.commit_create` (push policy, LFS rules,
    index, event), as `user` (by default the owner) on `revision` (a branch or `refs/pr/N`)."""
    operations: list[Any] = [service_commits.AddFile(path, data) for path, data in (files or {}).items()]
    for path, data in (lfs or {}).items():
        blob = LfsObjectFactory(repo=repo, data=data)
        operations.append(service_commits.AddLfsFile(path, blob.oid, blob.size))
    operations += [service_commits.DeleteFile(path) for path in delete]
    return commit_create(repo=repo, user=user or repo.owner, revision=revision or repo.default_branch,
                         header=CommitHeader(summary=summary), operations=operations, create_pr=create_pr)


# ---------------------------------------------------------------------- ready-made content

CONFIG = b'{"model_type": "bert"}\n'  # HF_PROTOCOL.md §2.8: git oid dc1fb7b...
CONFIG_OID = "dc1fb7b6703fe03317c1a080b523bf475f3d4818"
ZEROS = bytes(1024)
ZEROS_SHA256 = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
ZEROS_POINTER_OID = "abc8240e440587e9d4b59102163573492833ac8a"


@dataclass
class Seeded:
    repo: Repository
    sha: str


def seeded_model(user: User, name: str = "tiny-bert", *, private: bool = False, namespace: str | None = None) -> Seeded:
    """A model with `config.json` (CONFIG), a card, a nested `tokenizer/vocab.txt` and an LFS
    `model.safetensors` (ZEROS, 1024 zero bytes), all in one commit on top of the initial one."""
    repo = RepositoryFactory(owner=user, namespace=namespace or user.username, name=name, private=private)
    sha = commit(repo, files={"config.json": CONFIG, "tokenizer/vocab.txt": b"a\nb\n",
                              "README.md": b"---\nlicense: mit\ntags: [bert]\npipeline_tag: fill-mask\n---\n# hi\n"},
                 lfs={"model.safetensors": ZEROS}, message="Upload model\n\nWith a description & <tags>")
    repo.refresh_from_db()
    return Seeded(repo=repo, sha=sha)
