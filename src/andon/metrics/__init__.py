"""Metrics: definitions, series, control charts (SPC), thresholds and reviews."""
