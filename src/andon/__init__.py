"""Andon: operations standards for manufacturing plants."""

__version__ = "0.1.0"
