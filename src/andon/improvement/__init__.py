"""Improvement: root-cause analysis, CAPA and its effectiveness check, postmortems, risks,
decisions."""
