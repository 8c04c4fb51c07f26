"""The reviews wing of `repos`: discussions, pull requests (`refs/pr/N`), comments, reviews,
merges, diffs (text through git, tensors through `repos.weights` over the byte door) and the
notifications around them.

A wing, not an app: PR refs are part of the push policy (`repos.policy.push`), merges move
refs through the same lock, policy and event door as every other write. Anatomy as in the rest
of `repos`: `services/` write, `selectors/` read, `api/` and `views/` only parse, authorize,
call and render; `subscribers.py` listens to the event door (commits pushed to PR refs by any
path, merges made outside the hub); `checks.py` is the registry of merge checks other apps add
to; `tasks.py` holds the thin Celery task of full tensor diffs.
"""
