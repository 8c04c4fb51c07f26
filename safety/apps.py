from django.apps import AppConfig


class SafetyConfig(AppConfig):
    """Model-file, secrets and personal-data scanning; ingest filters and subscribers of the
    byte and event doors (issue "Private data stays private")."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "safety"
