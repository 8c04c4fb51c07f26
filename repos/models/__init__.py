from repos.models.access import AccessRequest
from repos.models.discussion import (
    CommentEdit,
    Discussion,
    DiscussionEvent,
    MergeRules,
    Notification,
    ReviewRequest,
    ReviewThread,
    TensorDiff,
    Watch,
)
from repos.models.facets import RepoFacet
from repos.models.keys import RepoKey, StoreKey
from repos.models.lfs import LfsObject, RepoLfsObject
from repos.models.likes import RepoLike
from repos.models.permissions import RepositoryGroupObjectPermission, RepositoryUserObjectPermission
from repos.models.repository import RepoRedirect, Repository, RepoType
from repos.models.xet import RepoXetFile, RepoXetXorb, XetDedupChunk, XetFile, XetFileXorb, XetShard, XetXorb

__all__ = [
    "AccessRequest",
    "CommentEdit",
    "Discussion",
    "DiscussionEvent",
    "LfsObject",
    "MergeRules",
    "Notification",
    "RepoFacet",
    "RepoKey",
    "RepoLfsObject",
    "RepoLike",
    "RepoRedirect",
    "RepoType",
    "Repository",
    "RepositoryGroupObjectPermission",
    "RepositoryUserObjectPermission",
    "ReviewRequest",
    "ReviewThread",
    "StoreKey",
    "TensorDiff",
    "Watch",
    "RepoXetFile",
    "RepoXetXorb",
    "XetDedupChunk",
    "XetFile",
    "XetFileXorb",
    "XetShard",
    "XetXorb",
]
