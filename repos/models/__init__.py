from repos.models.lfs import LfsObject, RepoLfsObject
from repos.models.permissions import RepositoryGroupObjectPermission, RepositoryUserObjectPermission
from repos.models.repository import RepoRedirect, RepoType, Repository

__all__ = [
    "LfsObject",
    "RepoLfsObject",
    "RepoRedirect",
    "RepoType",
    "Repository",
    "RepositoryGroupObjectPermission",
    "RepositoryUserObjectPermission",
]
