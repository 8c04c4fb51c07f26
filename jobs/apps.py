from django.apps import AppConfig


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"

    def ready(self) -> None:
        # The jobs app reacts to the event door and provides the "evaluation" merge check and PR badge;
        # repos imports nothing of it (ARCHITECTURE.md: jobs -> repos).
        from jobs.fine_tuning import fine_tune_finisher, fine_tune_on_refs_updated
        from jobs.models import Job
        from jobs.pr_evaluation import (
            evaluation_badge,
            evaluation_check,
            evaluation_finisher,
            evaluation_notifier,
            evaluation_on_refs_updated,
        )
        from jobs.services.execution import register_finisher, register_notifier
        from repos import events
        from repos.reviews.badges import register_pr_badge
        from repos.reviews.checks import register_merge_check

        events.subscribe(evaluation_on_refs_updated)
        events.subscribe(fine_tune_on_refs_updated)
        register_finisher(Job.Kind.FINETUNE, fine_tune_finisher)
        register_merge_check("evaluation", "Evaluation of the pull request passes", evaluation_check)
        register_pr_badge("evaluation", evaluation_badge)
        register_finisher(Job.Kind.EVALUATE, evaluation_finisher)
        register_notifier(Job.Kind.EVALUATE, evaluation_notifier)
