"""Readers for datasets that keep the source's exact bytes where a writer needs them (CSV
fields as written, JSON string tokens with their spans) and open Parquet within bounds.
Pure: no Django; callers pass file objects."""
