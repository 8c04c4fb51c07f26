"""Search facets of repositories: the database index behind the faceted search pages."""
from __future__ import annotations

from django.db import models

from repos.models.repository import Repository


class RepoFacet(models.Model):
    """One facet value of a repository (its task, library, license, language, size or parameter
    count), derived from the default branch's card, storage size and weights summary by the
    repository index (and the weights analysis), and rebuilt with them.

    A row per value (not a JSON list on the repository) so that a search filters with an
    indexed lookup and counts every value of a facet with one GROUP BY, on any database.
    """

    class Kind(models.TextChoices):
        TASK = "task"
        LIBRARY = "library"
        LICENSE = "license"
        LANGUAGE = "language"
        SIZE = "size"
        PARAMETERS = "parameters"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="facets")
    facet = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=96)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "facet", "value"], name="uniq_repo_facet_value"),
        ]
        # Covering the facet counts: a GROUP BY value over one facet reads the index alone.
        indexes = [models.Index(fields=["facet", "value", "repository"], name="repofacet_counts")]

    def __str__(self) -> str:
        return f"{self.facet}:{self.value}"
