"""Event-log analytics: readers, the data-quality report, KPIs, discovery and conformance."""
