"""Pure ML runners: evaluation and fine-tuning of model snapshots.

Nothing here knows about Django, Celery or the database. A runner is a function
``run(ctx: RunContext) -> RunResult``: it reads read-only snapshot directories, writes only
into ``ctx.output_dir`` and reports through the callbacks of its context. torch,
transformers, peft, scikit-learn and fairlearn are imported only by modules of this package
(and only lazily where a module is also used by the web process, e.g. ``model_index``).
"""
