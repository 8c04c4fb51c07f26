"""The git layer: pure Python over pygit2 and the git binary, no Django.

Modules: `repository` (reads), `commit` (writes and compare-and-swap ref updates), `diff`,
`lock` (the per-repository write lock), `paths` (every name/path validation) and `errors`.
"""
