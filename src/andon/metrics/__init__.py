"""Metrics: definitions with owners and thresholds, periods, manual values, control charts (SPC)."""
