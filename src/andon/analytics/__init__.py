"""Event-log analytics: readers, the data-quality report, KPIs, discovery and conformance."""

from andon.analytics.compilers import import_lazily

# Before any module here loads an Ibis backend (see andon.analytics.compilers).
import_lazily()
