"""The `andon` command line: one command group per domain, each a thin adapter over services."""
