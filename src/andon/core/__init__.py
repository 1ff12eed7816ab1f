"""Shared plumbing: settings, database, unit of work, audit trail, permissions, errors."""
