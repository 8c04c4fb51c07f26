"""django-guardian direct foreign-key permission tables for repositories (per-repo collaborators)."""
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from django.db import models


class RepositoryUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey("repos.Repository", on_delete=models.CASCADE)


class RepositoryGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey("repos.Repository", on_delete=models.CASCADE)
