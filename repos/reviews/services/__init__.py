"""Writes of the reviews wing (each service says which authorization it expects)."""
