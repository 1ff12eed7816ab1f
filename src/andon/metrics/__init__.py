"""Metrics: definitions with owners and thresholds, periods, manual values, SPC."""
