"""django-guardian direct foreign-key permission tables for repositories (per-repo collaborators)."""
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


class RepositoryUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey("repos.Repository", on_delete=models.CASCADE)


class RepositoryGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey("repos.Repository", on_delete=models.CASCADE)
