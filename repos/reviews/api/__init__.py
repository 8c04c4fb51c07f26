"""The discussions API (HF_PROTOCOL.md §7) and our own review, merge-rule and diff endpoints."""
