from repos.models.access import AccessRequest
from repos.models.discussion import Discussion
from repos.models.lfs import LfsObject, RepoLfsObject
from repos.models.permissions import RepositoryGroupObjectPermission, RepositoryUserObjectPermission
from repos.models.repository import RepoRedirect, Repository, RepoType
from repos.models.xet import RepoXetFile, RepoXetXorb, XetDedupChunk, XetFile, XetFileXorb, XetShard, XetXorb

__all__ = [
    "AccessRequest",
    "Discussion",
    "LfsObject",
    "RepoLfsObject",
    "RepoRedirect",
    "RepoType",
    "Repository",
    "RepositoryGroupObjectPermission",
    "RepositoryUserObjectPermission",
    "RepoXetFile",
    "RepoXetXorb",
    "XetDedupChunk",
    "XetFile",
    "XetFileXorb",
    "XetShard",
    "XetXorb",
]
