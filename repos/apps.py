from django.apps import AppConfig


class ReposConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "repos"

    def ready(self) -> None:
        from accounts.services.tokens import register_repository_scopes
        from repos import events
        from repos.reviews.subscribers import reviews_on_refs_updated
        from repos.services.analysis import analysis_on_refs_updated
        from repos.token_scopes import RepositoryScopeProvider

        register_repository_scopes(RepositoryScopeProvider())
        events.subscribe(analysis_on_refs_updated)
        events.subscribe(reviews_on_refs_updated)
