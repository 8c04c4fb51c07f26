"""Services of the jobs app: `lifecycle` (submit, cancel, retry, reap, log) and `execution`
(running a job to a final state)."""
