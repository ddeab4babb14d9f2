"""Arrokoth: an edge stream-processing engine speaking eKuiper's SQL dialect and REST API."""

__version__ = "0.1.0"
