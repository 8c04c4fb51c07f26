from django.apps import AppConfig


class SafetyConfig(AppConfig):
    """Model-file, secrets and personal-data scanning; ingest filters and subscribers of the
    byte and event doors (issue "Private data stays private")."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "safety"

    def ready(self) -> None:
        from repos import events
        from repos.file_security import register_file_security
        from repos.objects.encryption import register_wrapped_secrets
        from repos.policy.visibility import register_publish_guard
        from safety.dataset_reports import PSEUDONYM_SECRETS, publish_guard, reports_on_refs_updated
        from safety.selectors import SafetyReporter
        from safety.subscribers import scan_on_refs_updated

        events.subscribe(scan_on_refs_updated)
        events.subscribe(reports_on_refs_updated)
        register_file_security(SafetyReporter())
        register_publish_guard(publish_guard)
        register_wrapped_secrets(PSEUDONYM_SECRETS)
