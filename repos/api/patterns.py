"""Regex fragments of HF URLs, shared by every route list."""

T = r"(?P<plural>models|datasets|spaces)"
ID = r"(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"
# Web/git/resolve URL prefix: "" for models, "datasets/" or "spaces/".
PREFIX = r"(?:(?P<prefix>datasets|spaces)/)?"
