"""Lookup tables: sources a rule queries per row instead of loading them."""
