"""Reads of the reviews wing."""
